"""The MySQL 8 / MariaDB driver on aiomysql: pool, server detection, transactions, DDL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiomysql
import sqlalchemy as sa
from pymysql.constants import CLIENT
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.schema import CreateTable

from orm.core.driver import Connection, IsolationLevel, PoolStatus
from orm.core.errors import DriverError, PoolTimeoutError, ValidationError
from orm.core.metadata.model import EntityMetadata
from orm.mysql.connection import MySqlConnection
from orm.mysql.errors import translate_mysql_error
from orm.mysql.render import MySqlRenderer
from orm.mysql.server import (
    ASSUMED_MARIADB,
    ASSUMED_MYSQL,
    ServerInfo,
    build_dialect,
    check_supported,
    parse_server_version,
    platform_for,
)
from orm.mysql.types import MySqlTypeMapper, MySqlValueConverter
from orm.mysql.url import MySqlOptions, MySqlUrl, build_options, parse_mysql_url
from orm.query_builder import SqlDriver
from orm.query_builder.driver import SQL_ISOLATION_LEVELS

_DETECT = (
    "SELECT VERSION(), @@innodb_autoinc_lock_mode, @@auto_increment_increment, "
    "@@innodb_rollback_on_timeout"
)


class MySqlDriver(SqlDriver):
    """``mysql://`` and ``mariadb://`` URLs. The server flavour and version are detected when
    the pool opens; until then the instance assumes what the URL scheme says."""

    # The capabilities the compliance suite reads from the class before connecting: MariaDB's
    # (the tested server). Each instance replaces it with the detected server's at connect.
    platform = platform_for(ASSUMED_MARIADB)

    def __init__(self, url: MySqlUrl | str, options: MySqlOptions | None = None) -> None:
        self.url = parse_mysql_url(url) if isinstance(url, str) else url
        self.options = options or MySqlOptions()
        self._apply_server(ASSUMED_MARIADB if self.url.scheme == "mariadb" else ASSUMED_MYSQL)
        super().__init__()
        self._pool: aiomysql.Pool | None = None

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MySqlDriver:
        parsed = parse_mysql_url(url)
        return cls(parsed, build_options(parsed, options))

    # -- server ----------------------------------------------------------------------------

    def _apply_server(self, server: ServerInfo) -> None:
        self.server = server
        self.platform = platform_for(server, returning=self.options.returning)
        self._dialect = build_dialect(server)
        self.auto_increment_step = max(1, server.auto_increment_increment)

    @property
    def collation(self) -> str:
        """Of every table orm creates: binary by default, so comparisons, unique keys,
        ``ORDER BY`` and ``$like`` are case-sensitive and ordered by code point, as on
        PostgreSQL and SQLite (and ``'a' != 'a '``: a NO PAD collation)."""
        if self.options.collation:
            return self.options.collation
        charset = self.options.charset
        if charset != "utf8mb4":
            return f"{charset}_bin"
        if self.server.mariadb:
            return "utf8mb4_nopad_bin"
        return "utf8mb4_0900_bin" if self.server.version >= (8, 0, 17) else "utf8mb4_bin"

    @property
    def consecutive_insert_ids(self) -> bool:
        """Whether one multi-row INSERT may report its ids as LAST_INSERT_ID() + i * step.

        InnoDB guarantees consecutive values per statement under innodb_autoinc_lock_mode 0
        and 1; under 2 ("interleaved", MySQL 8's default) only while no bulk insert runs
        concurrently, so orm then inserts row by row unless told otherwise.
        """
        if self.options.consecutive_insert_ids is not None:
            return self.options.consecutive_insert_ids
        return self.server.autoinc_lock_mode in (0, 1)

    async def _detect(self) -> ServerInfo:
        async with self._require_pool().acquire() as raw, raw.cursor() as cursor:
            await cursor.execute(_DETECT)
            version, lock_mode, increment, rollback_on_timeout = await cursor.fetchone()
        text = version.decode() if isinstance(version, bytes) else str(version)
        is_mariadb, numbers = parse_server_version(text)
        return ServerInfo(
            mariadb=is_mariadb,
            version=numbers,
            version_string=text,
            autoinc_lock_mode=None if lock_mode is None else int(lock_mode),
            auto_increment_increment=int(increment or 1),
            rollback_on_timeout=bool(int(rollback_on_timeout or 0)),
        )

    # -- factories -------------------------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    def create_type_mapper(self) -> MySqlTypeMapper:
        return MySqlTypeMapper()

    def create_value_converter(self) -> MySqlValueConverter:
        return MySqlValueConverter()

    @property
    def renderer(self) -> MySqlRenderer:
        renderer = super().renderer
        assert isinstance(renderer, MySqlRenderer)
        return renderer

    def create_renderer(self, tables: dict[str, sa.Table]) -> MySqlRenderer:
        return MySqlRenderer(
            tables,
            self.values,
            server=self.server,
            charset=self.options.charset,
            collation=self.collation,
        )

    def translate_error(self, exc: Exception, *, sql: str, table: str | None) -> DriverError:
        return translate_mysql_error(self, exc, sql=sql, table=table)

    # -- pool ------------------------------------------------------------------------------

    def _connect_arguments(self) -> dict[str, Any]:
        url, options = self.url, self.options
        session = ["time_zone = '+00:00'", _SQL_MODE]
        if options.collation:
            session.insert(0, f"NAMES {options.charset} COLLATE {options.collation}")
        return {
            "host": url.host,
            "port": url.port,
            "user": url.user or "root",
            "password": url.password or "",
            "db": url.database,
            "unix_socket": url.unix_socket,
            "charset": options.charset,
            "autocommit": True,
            "connect_timeout": options.connect_timeout,
            # UPDATE reports matched rows, not changed rows (as other databases do); one
            # statement per call, so a value can never start a second statement.
            "client_flag": SingleStatementFlags(CLIENT.FOUND_ROWS),
            "init_command": "SET " + ", ".join(session),
            "ssl": url.ssl_context(),
        }

    async def connect(self, entities: Sequence[EntityMetadata]) -> None:
        if self._pool is None:
            options = self.options
            try:
                self._pool = await aiomysql.create_pool(
                    minsize=options.pool_min_size,
                    maxsize=options.pool_max_size,
                    pool_recycle=options.pool_recycle,
                    **self._connect_arguments(),
                )
                server = await self._detect()
            except DriverError:
                await self.close()
                raise
            except Exception as exc:
                await self.close()
                raise self.translate_error(exc, sql="connect", table=None) from exc
            try:
                check_supported(server)
            except Exception:
                await self.close()
                raise
            self._apply_server(server)
        self.prepare(entities)

    @property
    def pool_max_size(self) -> int:
        return self.options.pool_max_size

    def pool_status(self) -> PoolStatus | None:
        pool = self._pool
        if pool is None:
            return None
        idle = int(pool.freesize)
        return PoolStatus(in_use=int(pool.size) - idle, idle=idle)

    def _require_pool(self) -> aiomysql.Pool:
        if self._pool is None:
            raise DriverError(
                f"the MySQL driver for {self.url.describe()} is not connected (or was closed); "
                f"call ORM.init (or driver.connect) first"
            )
        return self._pool

    async def _checkout(self) -> aiomysql.Connection:
        pool = self._require_pool()
        timeout = self.options.acquire_timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                raw = await asyncio.wait_for(pool.acquire(), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                raise PoolTimeoutError(
                    f"no MySQL connection became free within {timeout:g} s (all "
                    f"{self.options.pool_max_size} are in use); raise pool_max_size or "
                    f"acquire_timeout, or release connections sooner (long transactions hold "
                    f"one each)"
                ) from None
            except DriverError:
                raise
            except Exception as exc:
                raise self.translate_error(exc, sql="connect", table=None) from exc
            if not _is_dead(raw):
                return raw
            raw.close()  # dropped by the server (KILL, wait_timeout, restart): replace it
            await pool.release(raw)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        raw = await self._checkout()
        connection = MySqlConnection(self, raw)
        try:
            yield connection
        finally:
            if connection.dirty and not raw.closed:
                raw.close()  # session state (FOREIGN_KEY_CHECKS = 0) must not be reused
            pool = self._pool
            if pool is not None:
                await pool.release(raw)
            else:
                raw.close()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        await pool.clear()  # says goodbye (COM_QUIT) to the idle connections
        pool.close()
        try:
            await asyncio.wait_for(pool.wait_closed(), 5.0)
        except TimeoutError:
            pool.terminate()  # connections still checked out: close them
            await pool.wait_closed()

    # -- SQL that differs ------------------------------------------------------------------

    def begin_statements(self, isolation_level: IsolationLevel | None) -> list[str]:
        if isolation_level is None:
            return ["START TRANSACTION"]
        level = SQL_ISOLATION_LEVELS[isolation_level]
        if isolation_level not in self.platform.isolation_levels:
            raise ValidationError(
                f"{self.platform.name} does not support isolation level {level} "
                f"(IsolationLevel.{isolation_level.name})"
            )
        # Applies to the next transaction only; START TRANSACTION must follow at once.
        return [f"SET TRANSACTION ISOLATION LEVEL {level}", "START TRANSACTION"]

    def drop_statements(self, tables: Sequence[sa.Table]) -> list[str]:
        # Cycles and foreign keys from tables orm does not know would block the drops; the
        # connection is discarded afterwards if the last SET never ran (an error in between).
        return [
            "SET FOREIGN_KEY_CHECKS = 0",
            *super().drop_statements(tables),
            "SET FOREIGN_KEY_CHECKS = 1",
        ]

    def ddl(self, element: Any) -> str:
        text = super().ddl(element)
        if isinstance(element, CreateTable):
            # MySQL ignores (and warns about) a name on the primary key: it is always PRIMARY.
            text = _NAMED_PRIMARY_KEY.sub("PRIMARY KEY", text)
            charset = self.options.charset
            text += f" ENGINE=InnoDB DEFAULT CHARSET={charset} COLLATE={self.collation}"
        return text


_NAMED_PRIMARY_KEY = re.compile(r"CONSTRAINT \S+ PRIMARY KEY")
_SQL_MODE = (
    "sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES', "
    "'NO_ENGINE_SUBSTITUTION')"
)


class SingleStatementFlags(int):
    """Client capability flags without ``CLIENT.MULTI_STATEMENTS``.

    aiomysql ORs that flag into every connection's flags (``client_flag |= ...``); with it, a
    call may carry several statements, so SQL text a value ever reached (a placeholder written
    inside quotes) could run a statement of its own. ``|`` on this int keeps the flag out.
    """

    def __or__(self, other: int) -> SingleStatementFlags:
        return SingleStatementFlags((int(self) | int(other)) & ~CLIENT.MULTI_STATEMENTS)

    __ror__ = __or__


def _is_dead(raw: aiomysql.Connection) -> bool:
    reader = getattr(raw, "_reader", None)
    if raw.closed or reader is None:
        return True
    return bool(reader.at_eof() or reader.exception() or getattr(reader, "eof_received", False))
