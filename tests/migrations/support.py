"""Helpers shared by the migration and CLI tests: own databases, wiping, schema snapshots.

The servers come from the compliance suite's switches (``ORM_TEST_DATABASES``, ``ORM_PG_URL``,
``ORM_MYSQL_URL``, ``ORM_REQUIRE_DATABASES``); these tests use databases of their own on the
same servers (created here when missing) so that they never touch the compliance suite's tables.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from orm.core.errors import ORMError
from orm.core.orm import driver_class_for
from orm.migrations.connection import sql_connection, sql_driver
from orm.migrations.reflection import run_reflected
from orm.query_builder import SqlDriver
from tests.compliance.conftest import _unavailable, database_url


def own_url(database: str, name: str, tmp_path: Path) -> str:
    """The URL of database ``name`` on the server the compliance suite uses for ``database``."""
    if database == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    parts = urllib.parse.urlsplit(database_url(database))
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


async def _connected(url: str) -> SqlDriver:
    driver = sql_driver(driver_class_for(url).from_url(url))
    await driver.connect([])
    return driver


async def prepare_database(database: str, url: str) -> None:
    """Create the database if needed (on a server: through the compliance URL) and empty it."""
    try:
        if database != "sqlite":
            name = urllib.parse.urlsplit(url).path.lstrip("/")
            admin = await _connected(database_url(database))
            try:
                async with sql_connection(admin) as connection:
                    if database == "postgres":
                        found = await connection.execute(
                            "SELECT 1 AS found FROM pg_database WHERE datname = :name",
                            {"name": name},
                        )
                        if not found.rows:
                            await connection.run_sql(f'CREATE DATABASE "{name}"')
                    else:
                        await connection.run_sql(f"CREATE DATABASE IF NOT EXISTS `{name}`")
            finally:
                await admin.close()
        await wipe(url)
    except ORMError as exc:
        if exc.__class__.__name__ in ("ConnectionError", "PoolTimeoutError"):
            _unavailable(database, str(exc))
        raise


async def wipe(url: str) -> None:
    """Drop every table of the database at ``url``."""
    driver = await _connected(url)
    try:
        async with sql_connection(driver) as connection:
            names = sorted(await connection.existing_columns())
            if names:
                if url.startswith("sqlite"):
                    await connection.run_sql("PRAGMA foreign_keys = OFF")
                stubs = [sa.Table(name, sa.MetaData()) for name in names]
                for statement in driver.drop_statements(stubs):
                    await connection.run_sql(statement)
    finally:
        await driver.close()


def _snapshot(connection: sa.Connection) -> dict[str, Any]:
    inspector = sa.inspect(connection)
    dialect = connection.dialect
    tables: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        # Sorted by name: a column added back by a down() comes last on servers with ALTER.
        columns = sorted(
            (
                c["name"],
                str(c["type"].compile(dialect=dialect)),
                c["nullable"],
                c.get("default"),
            )
            for c in inspector.get_columns(name)
        )
        foreign_keys = sorted(
            (
                tuple(fk["constrained_columns"]),
                fk["referred_table"],
                tuple(fk["referred_columns"]),
                (fk.get("options") or {}).get("ondelete"),
            )
            for fk in inspector.get_foreign_keys(name)
        )
        indexes = sorted(
            (tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(name)
        )
        uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(name))
        tables[name] = {
            "columns": columns,
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "foreign_keys": foreign_keys,
            "indexes": indexes,
            "uniques": uniques,
        }
    return tables


async def snapshot(url: str, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema of the database at ``url`` as plain data, read by reflection."""
    driver = sql_driver(driver_class_for(url).from_url(url))
    tables = await run_reflected(driver, _snapshot)
    return {name: value for name, value in tables.items() if name not in exclude}
