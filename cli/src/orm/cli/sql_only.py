"""Which commands need a SQL driver, checked before anything connects.

Migrations and the entity generator work on SQL databases only (the migrations package decides
what counts: :func:`orm.migrations.connection.speaks_sql`). On another driver (MongoDB) those
commands stop with a :class:`SqlOnlyError` that names the driver and what to use instead; the
command group turns it into exit code 2, like any other configuration that cannot work.
"""

from __future__ import annotations

from orm.cli.config import LoadedConfig
from orm.core import Config
from orm.core.driver import Driver
from orm.core.errors import ORMError
from orm.core.orm import driver_class_for
from orm.migrations.connection import (
    SqlOnlyError,
    platform_name,
    require_sql_driver,
    speaks_sql,
)


def configured_driver_class(config: Config) -> type[Driver] | None:
    """The driver class ``config`` selects; None when it selects none (``ORM.init`` says why)."""
    if config.driver is not None:
        return config.driver
    if not config.url:
        return None
    try:
        return driver_class_for(config.url)
    except ORMError:  # not a URL, or its driver is not installed: starting the ORM reports it
        return None


def non_sql_platform(loaded: LoadedConfig) -> str | None:
    """The database of a configured driver without SQL (``"mongodb"``); None for a SQL driver,
    or when the configuration selects none (starting the ORM then says why)."""
    driver_class = configured_driver_class(loaded.config)
    if driver_class is None or speaks_sql(driver_class):
        return None
    return platform_name(driver_class)


def require_migrations(loaded: LoadedConfig) -> None:
    """Stop a ``migration:*`` command on a driver without SQL migrations."""
    driver_class = configured_driver_class(loaded.config)
    if driver_class is not None:
        require_sql_driver(driver_class)


def require_generator(loaded: LoadedConfig) -> None:
    """Stop ``generate-entities`` on a driver without a SQL schema to read."""
    driver_class = configured_driver_class(loaded.config)
    if driver_class is not None and not speaks_sql(driver_class):
        raise SqlOnlyError(
            f"generate-entities is SQL-only: it reads tables and columns, and the "
            f"{platform_name(driver_class)} driver ({driver_class.__name__}) has no such schema "
            f"to read; write the @entity classes by hand, then `orm schema:update --run` "
            f"creates their collections and indexes",
            driver_class=driver_class,
        )
