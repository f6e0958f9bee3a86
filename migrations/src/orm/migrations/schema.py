"""The schema commands as functions: the SQL of create/drop/update/fresh, and running it."""

from __future__ import annotations

from collections.abc import Sequence

from orm.core import ORM
from orm.migrations.changes import SchemaDiff, diff_schema
from orm.migrations.connection import as_written, sql_connection, sql_driver, target_metadata
from orm.migrations.errors import MigrationError
from orm.migrations.migration import Statement
from orm.migrations.ordering import dependency_order
from orm.migrations.runner import StatementError, describe_error, keep_notes, run_statements


async def create_sql(orm: ORM) -> list[str]:
    """CREATE TABLE/INDEX statements for every entity table."""
    driver = sql_driver(orm.driver)
    return [as_written(driver, sql) for sql in await orm.schema.create_commands()]


def drop_sql(orm: ORM) -> list[str]:
    """DROP statements for every entity table, referencing tables first."""
    driver = sql_driver(orm.driver)
    tables = list(reversed(dependency_order(target_metadata(orm).tables.values())))
    return [as_written(driver, sql) for sql in driver.drop_statements(tables)]


async def update_diff(orm: ORM, *, drop: bool = False) -> SchemaDiff:
    """The changes ``schema:update`` makes; without ``drop`` the drops are in ``skipped``."""
    return await diff_schema(orm, drops=drop)


async def execute(orm: ORM, statements: Sequence[str]) -> None:
    """Run DDL statements in one transaction where the database has transactional DDL."""
    driver = sql_driver(orm.driver)
    queued = [Statement(sql=sql) for sql in statements]
    async with sql_connection(driver) as connection:
        try:
            await run_statements(
                orm,
                driver,
                connection,
                queued,
                transactional=driver.platform.transactional_ddl,
            )
        except StatementError as exc:
            undone = (
                "nothing was changed (rolled back)"
                if driver.platform.transactional_ddl
                else f"the {exc.index} statement(s) before it stay applied"
            )
            failure = MigrationError(
                f"statement {exc.index + 1} of {len(queued)} failed:\n    "
                f"{exc.statement.describe()}\n{describe_error(exc.error)}\n{undone}"
            )
            raise keep_notes(failure, exc) from exc.error
