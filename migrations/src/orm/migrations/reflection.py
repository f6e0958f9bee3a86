"""Reading the live schema: a SQLAlchemy asyncio engine on the driver's own database library.

There is no SQLAlchemy ``Engine`` in orm (the drivers talk to aiosqlite, asyncpg and aiomysql
directly), and the ``Inspector`` is synchronous. Reflection therefore opens a short-lived
SQLAlchemy *asyncio* engine whose connections are made by the same library and with the same
settings as the driver's (``async_creator``), and runs the Inspector through ``run_sync``
(greenlet). No second database library is needed, and the event loop is never blocked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from orm.core.errors import ConfigurationError
from orm.core.urls import redact_url
from orm.migrations.connection import family
from orm.migrations.errors import SchemaDiffError
from orm.query_builder import SqlDriver

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")


def reflection_engine(driver: SqlDriver) -> AsyncEngine:
    """An asyncio engine on the database ``driver`` is connected to."""
    # Imported here: sqlalchemy.ext.asyncio pulls in the SQLAlchemy ORM (slow to import).
    from sqlalchemy.ext.asyncio import create_async_engine

    kind = family(driver)
    if kind == "sqlite":
        path = str(getattr(driver, "path", ""))
        if not path or path == ":memory:":
            raise ConfigurationError(
                "reading the schema of sqlite://:memory: is not possible from a second "
                "connection (each one is a separate, empty database); use a database file, "
                "e.g. sqlite:///app.db"
            )
        return create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=NullPool)
    if kind == "postgresql":
        return create_async_engine(
            "postgresql+asyncpg://", async_creator=_postgres_creator(driver), poolclass=NullPool
        )
    if kind == "mysql":
        return create_async_engine(
            f"{driver.dialect.name}+aiomysql://",
            async_creator=_mysql_creator(driver),
            poolclass=NullPool,
        )
    raise ConfigurationError(f"schema reflection does not support {driver.dialect.name}")


def _postgres_creator(driver: SqlDriver) -> Callable[[], Awaitable[Any]]:
    import asyncpg

    url: Any = getattr(driver, "url")  # noqa: B009 - orm.postgres.PostgresDriver.url
    options: Any = getattr(driver, "options", None)
    settings = dict(getattr(options, "server_settings", None) or {}) or None

    async def connect() -> Any:
        return await asyncpg.connect(dsn=url.dsn, server_settings=settings)

    return connect


def _mysql_creator(driver: SqlDriver) -> Callable[[], Awaitable[Any]]:
    import aiomysql

    url: Any = getattr(driver, "url")  # noqa: B009 - orm.mysql.MySqlDriver.url
    options: Any = getattr(driver, "options", None)
    arguments: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.user or "root",
        "password": url.password or "",
        "db": url.database,
        "charset": getattr(options, "charset", "utf8mb4"),
    }
    if url.unix_socket:
        arguments["unix_socket"] = url.unix_socket
    context = url.ssl_context()
    if context is not None:
        arguments["ssl"] = context

    async def connect() -> Any:
        return await aiomysql.connect(**arguments)

    return connect


async def run_reflected(driver: SqlDriver, work: Callable[[sa.Connection], T]) -> T:
    """Run ``work(sync_connection)`` (Inspector code) on a fresh reflection connection."""
    engine = reflection_engine(driver)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    except (ConfigurationError, SchemaDiffError):
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise SchemaDiffError(
            f"reading the schema of the {driver.platform.name} database failed: "
            f"{redact_url(str(exc))}; check "
            f"that the database answers (`orm debug`) and that the user may read its catalog"
        ) from exc
    finally:
        await engine.dispose()
