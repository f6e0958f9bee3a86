"""The SQLite driver on aiosqlite: a file or ``:memory:``, foreign keys on, RETURNING."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import Dialect

from orm.core.driver import Connection, IsolationLevel, Platform, Row, UpsertBatch
from orm.core.errors import ConfigurationError, DriverError, ValidationError
from orm.core.metadata.model import EntityMetadata
from orm.core.urls import redact_url
from orm.query_builder import SimplePool, SqlConnection, SqlDriver
from orm.query_builder.driver import SQL_ISOLATION_LEVELS
from orm.sqlite.errors import translate_sqlite_error
from orm.sqlite.functions import orm_json_contains, orm_lower
from orm.sqlite.render import SqliteRenderer

_OPTIONS = ("busy_timeout", "pool_max_size", "acquire_timeout")


def _regexp(pattern: str, value: Any) -> bool | None:
    # NULL for NULL, as on the other databases (NOT of it stays NULL); '.' matches a newline,
    # as in PostgreSQL's default (MySQL's pattern gets (?s) for the same reason).
    if value is None:
        return None
    return re.search(pattern, str(value), re.DOTALL) is not None


class SqliteConnection(SqlConnection):
    def __init__(self, driver: SqliteDriver, raw: aiosqlite.Connection) -> None:
        super().__init__(driver)
        self.raw = raw

    async def _native_fetch(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        async with self.raw.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _native_execute(self, sql: str, params: Sequence[Any]) -> int:
        async with self.raw.execute(sql, params) as cursor:
            return int(cursor.rowcount)

    async def _native_stream(
        self, sql: str, params: Sequence[Any], batch_size: int
    ) -> AsyncGenerator[list[Sequence[Any]], None]:
        """SQLite steps a statement row by row: ``fetchmany`` reads the next batch only.

        Other statements may run on the connection between batches (em.stream uses this
        inside a transaction); outside one, em.stream reads keyset batches instead, so that
        the pool's single connection is not held while the loop body runs.
        """
        cursor = await self.raw.execute(sql, params)
        try:
            while True:
                rows: list[Sequence[Any]] = list(await cursor.fetchmany(batch_size))
                yield rows
                if len(rows) < batch_size:
                    return
        finally:
            await cursor.close()

    async def _native_raw(
        self, sql: str, params: Sequence[Any]
    ) -> tuple[list[Sequence[Any]], list[str], int]:
        async with self.raw.execute(sql, params) as cursor:
            rows: list[Sequence[Any]] = list(await cursor.fetchall())
            columns = [d[0] for d in cursor.description or ()]
            return rows, columns, int(cursor.rowcount)

    async def upsert(self, batch: UpsertBatch) -> list[Row]:
        """``INSERT ... ON CONFLICT (...) DO UPDATE SET ... RETURNING ...``."""
        renderer = self.driver.renderer
        table = self.driver.tables[batch.entity.table]
        rows = [renderer.row_values(batch.entity, batch.properties, row) for row in batch.rows]
        insert = sqlite_insert(table).values(rows)
        conflict = [c.name for p in batch.conflict for c in p.columns]
        updated = [c.name for p in batch.update for c in p.columns] or conflict
        statement = insert.on_conflict_do_update(
            index_elements=conflict,
            set_={name: insert.excluded[name] for name in updated},
        ).returning(*(table.c[c.name] for p in batch.returning for c in p.columns))
        returned = await self.fetch(statement, table=batch.entity.table)
        return self.returned_in_input_order(batch, returned)

    async def existing_columns(self) -> dict[str, set[str]]:
        tables = await self._native_fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", []
        )
        result: dict[str, set[str]] = {}
        for (name,) in tables:
            columns = await self._native_fetch(f'PRAGMA table_info("{name}")', [])
            result[str(name)] = {str(column[1]) for column in columns}
        return result


class SqliteDriver(SqlDriver):
    platform = Platform(
        name="sqlite",
        returning=True,
        transactional_ddl=True,
        savepoints=True,
        native_upsert=True,
        native_ilike=False,
        lock_modes=False,
        skip_locked=False,
        isolation_levels=(IsolationLevel.SERIALIZABLE,),
        native_uuid=False,
        native_json=False,
        timezone_aware_datetime=False,
        max_parameters=32_766,
        concurrent_connections=False,
        server_side_cursors=True,
        joined_loading=True,
    )
    inline_foreign_keys = True

    def __init__(
        self,
        path: str,
        *,
        busy_timeout: float = 5.0,
        pool_max_size: int = 1,
        acquire_timeout: float = 30.0,
    ) -> None:
        super().__init__()
        if path == ":memory:" and pool_max_size != 1:
            raise ConfigurationError(
                "sqlite://:memory: needs pool_max_size=1: every connection to :memory: is a "
                "separate, empty database"
            )
        self.path = path
        self.busy_timeout = busy_timeout
        self._dialect = sqlite.dialect(paramstyle="qmark")
        self._pool: SimplePool[aiosqlite.Connection] = SimplePool(
            self._open,
            self._close,
            max_size=pool_max_size,
            acquire_timeout=acquire_timeout,
            name="sqlite",
        )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SqliteDriver:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ConfigurationError(
                f"unknown SQLite option(s) {', '.join(unknown)}; known: {', '.join(_OPTIONS)}"
            )
        return cls(parse_sqlite_url(url), **options)

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    def create_renderer(self, tables: dict[str, sa.Table]) -> SqliteRenderer:
        return SqliteRenderer(tables, self.values)

    async def connect(self, entities: Sequence[EntityMetadata]) -> None:
        self.prepare(entities)
        async with self.acquire():
            pass  # open one connection now, so a bad path fails at ORM.init

    async def _open(self) -> aiosqlite.Connection:
        pending = aiosqlite.connect(self.path, isolation_level=None)
        # aiosqlite's worker thread is not a daemon: a program that forgets orm.close() would
        # hang at exit. A daemon thread lets it end (the OS closes the file).
        worker = getattr(pending, "_thread", None)
        if worker is not None:
            worker.daemon = True
        try:
            raw = await pending
        except Exception as exc:
            if worker is not None:
                # aiosqlite stops its thread after a failed connect; let it finish while this
                # event loop still runs, or it reports to a closed loop.
                await asyncio.to_thread(worker.join, 5.0)
            raise self.translate_error(exc, sql="connect", table=None) from exc
        await raw.execute("PRAGMA foreign_keys = ON")
        await raw.execute("PRAGMA case_sensitive_like = ON")
        await raw.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        await raw.create_function("regexp", 2, _regexp, deterministic=True)
        await raw.create_function("orm_lower", 1, orm_lower, deterministic=True)
        await raw.create_function("orm_json_contains", 2, orm_json_contains, deterministic=True)
        return raw

    @staticmethod
    async def _close(raw: aiosqlite.Connection) -> None:
        await raw.close()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as raw:
            yield SqliteConnection(self, raw)

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool_max_size(self) -> int:
        return self._pool.max_size

    def begin_statements(self, isolation_level: IsolationLevel | None) -> list[str]:
        if isolation_level not in (None, IsolationLevel.SERIALIZABLE):
            raise ValidationError(
                f"SQLite transactions are always SERIALIZABLE; "
                f"{SQL_ISOLATION_LEVELS[isolation_level]} (IsolationLevel.{isolation_level.name}) "
                f"is not available"
            )
        return ["BEGIN"]

    def drop_statements(self, tables: Sequence[sa.Table]) -> list[str]:
        # Checked at COMMIT, when every table of a foreign-key cycle is gone.
        return ["PRAGMA defer_foreign_keys = ON", *super().drop_statements(tables)]

    def translate_error(self, exc: Exception, *, sql: str, table: str | None) -> DriverError:
        return translate_sqlite_error(self, exc, sql=sql, table=table)


def parse_sqlite_url(url: str) -> str:
    """``sqlite:///app.db`` -> ``app.db``; ``sqlite:////abs.db`` -> ``/abs.db``; memory forms."""
    if not url.startswith("sqlite://"):
        raise ConfigurationError(f"{redact_url(url)!r} is not a sqlite:// URL")
    rest = url[len("sqlite://") :].split("?", 1)[0]
    if rest in ("", ":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/"):
        raise ConfigurationError(
            f"{redact_url(url)!r}: write sqlite:///relative/path.db (three slashes), sqlite:////absolute/"
            f"path.db (four), or sqlite://:memory:"
        )
    return rest[1:]
