"""Access to the SQL layer of an initialised ORM: the driver, its dialect, a raw connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa

from orm.core import ORM
from orm.core.driver import Driver
from orm.core.errors import ConfigurationError
from orm.query_builder import SqlConnection, SqlDriver, SqlSchemaManager


def sql_driver(driver: Driver) -> SqlDriver:
    """The driver as a :class:`SqlDriver`; migrations exist for SQL databases only."""
    if not isinstance(driver, SqlDriver):
        raise ConfigurationError(
            f"migrations and schema commands need a SQL database; the driver "
            f"{type(driver).__name__} ({driver.platform.name}) is not a SQL driver"
        )
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
