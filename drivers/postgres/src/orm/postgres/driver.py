"""The PostgreSQL driver on asyncpg: a connection pool, ``$n`` parameters, native types.

Selected by ``postgresql://`` and ``postgres://`` URLs (see :mod:`orm.postgres.url`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine.interfaces import Dialect

from orm.core.driver import Connection, IsolationLevel, Platform, PoolStatus
from orm.core.errors import ConfigurationError, DriverError, PoolTimeoutError, ValidationError
from orm.core.metadata.model import EntityMetadata
from orm.postgres.connection import PostgresConnection
from orm.postgres.errors import (
    is_connection_error,
    translate_connect_error,
    translate_postgres_error,
)
from orm.postgres.render import PostgresRenderer
from orm.postgres.types import PostgresTypeMapper, PostgresValueConverter
from orm.postgres.url import PoolOptions, PostgresUrl, parse_postgres_url, pool_options
from orm.query_builder import SqlDriver, TypeMapper, ValueConverter

logger = logging.getLogger("orm.postgres")

# How long close() waits for checked-out connections before terminating them.
CLOSE_GRACE_SECONDS = 5.0


class _UncastString(sa.String):
    render_bind_cast = False


class OrmAsyncpgDialect(PGDialect_asyncpg):
    """SQLAlchemy's asyncpg dialect (``$n`` parameters with ``::type`` casts), except strings.

    A ``str`` parameter carries no cast, so PostgreSQL infers its type from where it is used:
    raw SQL such as ``WHERE token = :token`` then works with a UUID, JSON or date written as
    text, instead of failing with "operator does not exist: uuid = character varying".
    """

    colspecs = {**PGDialect_asyncpg.colspecs, sa.String: _UncastString}


class PostgresDriver(SqlDriver):
    platform = Platform(
        name="postgresql",
        returning=True,
        transactional_ddl=True,
        savepoints=True,
        native_upsert=True,
        native_ilike=True,
        lock_modes=True,
        skip_locked=True,
        isolation_levels=(
            IsolationLevel.READ_COMMITTED,
            IsolationLevel.REPEATABLE_READ,
            IsolationLevel.SERIALIZABLE,
        ),
        native_uuid=True,
        native_json=True,
        timezone_aware_datetime=True,
        max_parameters=32_767,  # the wire protocol's limit on bind parameters
        concurrent_connections=True,
        server_side_cursors=True,
        joined_loading=True,
        json_aggregate_loading=True,
    )

    def __init__(self, url: PostgresUrl, options: PoolOptions | None = None) -> None:
        super().__init__()
        self.url = url
        self.options = options or PoolOptions()
        self._dialect: Dialect = OrmAsyncpgDialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
        self._pool: asyncpg.Pool | None = None

    @classmethod
    def from_url(cls, url: str, **options: Any) -> PostgresDriver:
        """``postgresql://user:pass@host:5432/db?sslmode=require`` plus pool options.

        Options: ``pool_min_size`` (1), ``pool_max_size`` (10), ``connect_timeout`` (10 s),
        ``command_timeout`` (None: no limit), ``statement_cache_size`` (100; 0 behind
        pgbouncer in transaction mode), ``server_settings`` (dict), ``acquire_timeout`` (30 s).
        """
        return cls(parse_postgres_url(url), pool_options(options))

    # -- SqlDriver factories ---------------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    def create_type_mapper(self) -> TypeMapper:
        return PostgresTypeMapper()

    def create_value_converter(self) -> ValueConverter:
        return PostgresValueConverter()

    def create_renderer(self, tables: dict[str, sa.Table]) -> PostgresRenderer:
        return PostgresRenderer(tables, self.values, self.types)

    @property
    def renderer(self) -> PostgresRenderer:
        renderer = super().renderer
        assert isinstance(renderer, PostgresRenderer)
        return renderer

    def translate_error(self, exc: Exception, *, sql: str, table: str | None) -> DriverError:
        return translate_postgres_error(self, exc, sql=sql, table=table)

    def begin_statements(self, isolation_level: IsolationLevel | None) -> list[str]:
        if isolation_level is IsolationLevel.READ_UNCOMMITTED:
            raise ValidationError(
                "PostgreSQL has no READ UNCOMMITTED isolation level "
                "(IsolationLevel.READ_UNCOMMITTED would silently run as READ COMMITTED); use "
                "IsolationLevel.READ_COMMITTED"
            )
        return super().begin_statements(isolation_level)

    def drop_statements(self, tables: Sequence[sa.Table]) -> list[str]:
        if not tables:
            return []
        preparer = self.dialect.identifier_preparer
        names = ", ".join(preparer.format_table(t) for t in tables)
        return [f"DROP TABLE IF EXISTS {names} CASCADE"]

    # -- pool ------------------------------------------------------------------------------

    @property
    def pool_max_size(self) -> int:
        return self.options.pool_max_size

    def pool_status(self) -> PoolStatus | None:
        pool = self._pool
        if pool is None:
            return None
        size, idle = pool.get_size(), pool.get_idle_size()
        return PoolStatus(in_use=size - idle, idle=idle)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise ConfigurationError(
                "the PostgreSQL driver is not connected: use the ORM returned by "
                "`await ORM.init(...)` (and do not use it after `await orm.close()`)"
            )
        return self._pool

    async def connect(self, entities: Sequence[EntityMetadata]) -> None:
        self.prepare(entities)
        options = self.options
        try:
            self._pool = await asyncpg.create_pool(
                dsn=self.url.dsn,
                min_size=options.pool_min_size,
                max_size=options.pool_max_size,
                timeout=options.connect_timeout,
                command_timeout=options.command_timeout,
                statement_cache_size=options.statement_cache_size,
                server_settings=dict(options.server_settings) or None,
                reset=_keep_session,
            )
        except Exception as exc:
            raise translate_connect_error(self, exc) from exc
        if options.pool_min_size == 0:
            async with self.acquire():
                pass  # open one connection now, so a wrong URL fails at ORM.init

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        pool = self.pool
        connection = PostgresConnection(self, await self._checkout(pool))
        try:
            yield connection
        except BaseException as exc:
            if _is_broken(exc):
                # Never hand a broken connection to the next user: the pool opens a new one.
                _terminate(connection.raw)
            raise
        finally:
            connection.released = True
            await self._release(pool, connection.raw)

    async def replace_connection(self, broken: asyncpg.Connection) -> asyncpg.Connection:
        """Discard a dead checked-out connection and check out another one."""
        pool = self.pool
        _terminate(broken)
        await self._release(pool, broken)
        return await self._checkout(pool)

    async def _checkout(self, pool: asyncpg.Pool) -> asyncpg.Connection:
        timeout = self.options.acquire_timeout
        try:
            return await pool.acquire(timeout=timeout)
        except TimeoutError:
            max_size = self.options.pool_max_size
            raise PoolTimeoutError(
                f"no PostgreSQL connection became free within {timeout:g} s (all {max_size} "
                f"pooled connections are in use); raise pool_max_size or acquire_timeout, or "
                f"release connections sooner (each open transaction holds one)"
            ) from None
        except Exception as exc:
            raise translate_connect_error(self, exc) from exc

    @staticmethod
    async def _release(pool: asyncpg.Pool, raw: asyncpg.Connection) -> None:
        try:
            await pool.release(raw)
        except Exception:  # the pool already discarded the connection; nothing to hand back
            logger.debug("a broken PostgreSQL connection was discarded on release", exc_info=True)
            _terminate(raw)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_GRACE_SECONDS)
        except TimeoutError:
            logger.warning(
                "closing the PostgreSQL pool: connections were still in use after %g s and "
                "were terminated",
                CLOSE_GRACE_SECONDS,
            )
            pool.terminate()


async def _keep_session(raw: asyncpg.Connection) -> None:
    """Release without asyncpg's ``RESET ALL; CLOSE ALL; UNLISTEN *; ...`` round trip.

    An open transaction is still rolled back (asyncpg does that before calling this), as
    SQLAlchemy's pool does on return; session settings made with ``SET`` stay on the pooled
    connection, so use ``SET LOCAL`` inside a transaction or ``server_settings`` instead.
    """


def _terminate(raw: asyncpg.Connection) -> None:
    with suppress(Exception):  # already closed, or already handed back by the pool
        raw.terminate()


def _is_broken(exc: BaseException) -> bool:
    cause = exc.__cause__ if isinstance(exc, DriverError) else exc
    return cause is not None and is_connection_error(cause)
