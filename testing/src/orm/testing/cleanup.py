"""Emptying the ORM's tables after a test that committed for real (``@pytest.mark.orm_commit``),
and recreating the collections where there are no savepoints (MongoDB)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orm.core.errors import ConfigurationError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from orm.core.orm import ORM
    from orm.query_builder import SqlConnection, SqlDriver


async def recreate_collections(orm: ORM) -> None:
    """Drop the entities' tables (collections) and create them again, empty."""
    await orm.schema.drop()
    await orm.schema.create()


async def delete_all_rows(orm: ORM) -> None:
    """Remove every row of the ORM's tables (entities and ManyToMany pivots), keeping the
    tables, their indexes and what is not the ORM's (the migrations table).

    Databases without SQL get their collections recreated instead."""
    if not orm.driver.platform.sql:
        await recreate_collections(orm)
        return
    from orm.query_builder import SqlConnection, SqlDriver

    driver = orm.driver
    if not isinstance(driver, SqlDriver):
        raise ConfigurationError(
            f"the {driver.platform.name} driver speaks SQL but is no orm SqlDriver, so "
            f"orm-testing cannot list its tables to empty them after an orm_commit test; "
            f"remove its rows in a fixture of your own"
        )
    tables = _referencing_first(driver)
    if not tables:
        return
    async with driver.acquire() as connection:
        if not isinstance(connection, SqlConnection):
            raise ConfigurationError(
                f"the {driver.platform.name} driver handed out a {type(connection).__name__}, "
                f"not an orm SqlConnection, so orm-testing cannot empty its tables"
            )
        await _empty(driver, connection, tables)


def _referencing_first(driver: SqlDriver) -> list[sa.Table]:
    import sqlalchemy as sa

    ordered = sa.schema.sort_tables(list(driver.tables.values()))
    return list(reversed(ordered))


async def _empty(driver: SqlDriver, connection: SqlConnection, tables: list[sa.Table]) -> None:
    names = [driver.dialect.identifier_preparer.format_table(table) for table in tables]
    family = driver.platform.name
    if family == "postgresql":
        # One statement: references among the listed tables are no obstacle.
        await connection.run_sql(f"TRUNCATE TABLE {', '.join(names)} RESTART IDENTITY")
    elif family in ("mysql", "mariadb"):
        # InnoDB checks references row by row: a self-referencing table could not be emptied.
        await connection.run_sql("SET FOREIGN_KEY_CHECKS = 0")
        try:
            for name in names:
                await connection.run_sql(f"DELETE FROM {name}")
        finally:
            await connection.run_sql("SET FOREIGN_KEY_CHECKS = 1")
    elif family == "sqlite":
        await connection.begin()
        try:
            # Checked at COMMIT, when every row is gone: cycles and self-references are fine.
            await connection.run_sql("PRAGMA defer_foreign_keys = ON")
            for name in names:
                await connection.run_sql(f"DELETE FROM {name}")
        except BaseException:
            await connection.rollback()
            raise
        await connection.commit()
    else:
        for name in names:
            await connection.run_sql(f"DELETE FROM {name}")
