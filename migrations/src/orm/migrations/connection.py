"""Access to the SQL layer of an initialised ORM: the driver, its dialect, a raw connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa

from orm.core import ORM
from orm.core.driver import Driver, Platform
from orm.core.errors import ConfigurationError
from orm.query_builder import SqlConnection, SqlDriver, SqlSchemaManager


class SqlOnlyError(ConfigurationError):
    """A SQL-only tool (migrations, their schema diff, the entity generator) was asked of a
    driver that is not a :class:`SqlDriver`, e.g. the MongoDB driver."""

    def __init__(self, message: str, *, driver_class: type[Driver]) -> None:
        super().__init__(message)
        self.driver_class = driver_class


def speaks_sql(driver: Driver | type[Driver]) -> bool:
    """Whether the driver (or driver class) is a SQL driver, the capability migrations need."""
    driver_class = driver if isinstance(driver, type) else type(driver)
    return issubclass(driver_class, SqlDriver)


def platform_name(driver_class: type[Driver]) -> str:
    """The database a driver class serves (``"mongodb"``), for messages."""
    platform = getattr(driver_class, "platform", None)
    return platform.name if isinstance(platform, Platform) else driver_class.__name__


def migrations_unavailable(driver_class: type[Driver]) -> SqlOnlyError:
    """The error for migrations asked of a driver without SQL: it names the way that works."""
    return SqlOnlyError(
        f"migrations are SQL-only: the {platform_name(driver_class)} driver "
        f"({driver_class.__name__}) keeps no schema history; use `orm schema:update --run` "
        f"(in code: `await orm.schema.update()`) to create the missing collections and indexes",
        driver_class=driver_class,
    )


def require_sql_driver(driver_class: type[Driver]) -> None:
    """Raise :class:`SqlOnlyError` unless ``driver_class`` is a SQL driver (nothing connects)."""
    if not speaks_sql(driver_class):
        raise migrations_unavailable(driver_class)


def sql_driver(driver: Driver) -> SqlDriver:
    """The driver as a :class:`SqlDriver`; migrations exist for SQL databases only."""
    if not isinstance(driver, SqlDriver):
        raise migrations_unavailable(type(driver))
    return driver


def family(driver: SqlDriver) -> str:
    """``"sqlite"``, ``"postgresql"`` or ``"mysql"`` (MySQL and MariaDB)."""
    name = driver.dialect.name
    return "mysql" if name in ("mysql", "mariadb") else name


def target_metadata(orm: ORM) -> sa.MetaData:
    """The SQLAlchemy ``MetaData`` the driver built from the entities (the wanted schema)."""
    schema = sql_driver(orm.driver).schema
    assert isinstance(schema, SqlSchemaManager)
    return schema.metadata


@asynccontextmanager
async def sql_connection(driver: SqlDriver) -> AsyncIterator[SqlConnection]:
    """Check a connection out of the driver's pool, typed as a :class:`SqlConnection`."""
    async with driver.acquire() as connection:
        assert isinstance(connection, SqlConnection)
        yield connection


def _percent_style(driver: SqlDriver) -> bool:
    return driver.dialect.paramstyle in ("format", "pyformat")


def for_run_sql(driver: SqlDriver, sql: str) -> str:
    """SQL as written (a literal ``%`` is ``%``) in the form ``run_sql`` takes on this driver.

    Drivers with ``%s`` parameters (MySQL) interpolate every statement, so ``%`` is doubled.
    """
    return sql.replace("%", "%%") if _percent_style(driver) else sql


def as_written(driver: SqlDriver, compiled: str) -> str:
    """DDL compiled for the driver's dialect, with ``%%`` back to the ``%`` a person writes."""
    return compiled.replace("%%", "%") if _percent_style(driver) else compiled
