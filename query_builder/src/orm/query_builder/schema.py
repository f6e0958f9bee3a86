"""The schema generator: DDL for the discovered entities, rendered by SQLAlchemy.

``create()`` makes every table, ``drop()`` removes them, ``update()`` adds what is missing
(tables and columns; it never drops or alters). Migrations come with ``orm-migrations``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.schema import AddConstraint, CreateColumn, CreateIndex, CreateTable

from orm.core.driver import SchemaManager
from orm.core.transactions import rollback_keeping_error

if TYPE_CHECKING:
    from orm.query_builder.connection import SqlConnection
    from orm.query_builder.driver import SqlDriver

T = TypeVar("T")


async def run_in_transaction(
    connection: SqlConnection, work: Callable[[], Awaitable[T]], *, transactional: bool = True
) -> T:
    """``work()`` between BEGIN and COMMIT (``transactional``), rolled back if it raises.

    The one way orm runs DDL in a transaction (the schema generator, the migrator). The error
    of ``work()`` is the one raised: when the rollback fails too (the server may have ended the
    transaction already, or the connection is gone), that failure becomes a note on it.
    Without ``transactional`` (MySQL/MariaDB commit each DDL statement) ``work()`` just runs.
    """
    if not transactional:
        return await work()
    await connection.begin()
    try:
        result = await work()
    except BaseException as exc:
        await rollback_keeping_error(connection.rollback(), exc)
        raise
    await connection.commit()
    return result


class SqlSchemaManager(SchemaManager):
    def __init__(self, driver: SqlDriver, metadata: sa.MetaData) -> None:
        self.driver = driver
        self.metadata = metadata

    def _ordered(self) -> list[tuple[sa.Table | None, list[sa.ForeignKeyConstraint]]]:
        return [
            (table, list(constraints))
            for table, constraints in sa.schema.sort_tables_and_constraints(  # type: ignore[no-untyped-call]
                list(self.metadata.tables.values())
            )
        ]

    def create_statements(self, tables: list[sa.Table] | None = None) -> list[str]:
        wanted = None if tables is None else {t.name for t in tables}
        statements: list[str] = []
        deferred: list[sa.ForeignKeyConstraint] = []
        inline_all = self.driver.inline_foreign_keys
        for table, constraints in self._ordered():
            if table is None:
                deferred.extend(constraints)
                continue
            if wanted is not None and table.name not in wanted:
                continue
            include = list(table.foreign_key_constraints) if inline_all else constraints
            statements.append(
                self.driver.ddl(CreateTable(table, include_foreign_key_constraints=include))
            )
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                statements.append(self.driver.ddl(CreateIndex(index)))
        if not inline_all:
            for constraint in deferred:
                if wanted is None or constraint.table.name in wanted:
                    statements.append(self.driver.ddl(AddConstraint(constraint)))
        return statements

    async def create_commands(self) -> list[str]:
        return self.create_statements()

    async def create_sql(self) -> list[str]:
        """The CREATE TABLE/INDEX statements of :meth:`create` (``orm.schema.create_sql()``)."""
        return self.create_statements()

    async def create(self) -> None:
        await self._run(self.create_statements())

    async def drop(self) -> None:
        tables = [t for t, _ in reversed(self._ordered()) if t is not None]
        await self._run(self.driver.drop_statements(tables))

    async def update(self) -> None:
        """Create missing tables and add missing columns; never drops or changes anything."""
        async with self.driver.acquire() as connection:
            existing = await connection.existing_columns()  # type: ignore[attr-defined]
        missing_tables = [t for t in self.metadata.tables.values() if t.name not in existing]
        statements = self.create_statements(missing_tables) if missing_tables else []
        for table in self.metadata.tables.values():
            if table.name not in existing:
                continue
            for column in table.columns:
                if column.name not in existing[table.name]:
                    statements.append(self._add_column(table, column))
        await self._run(statements)

    def _add_column(self, table: sa.Table, column: sa.Column[Any]) -> str:
        preparer = self.driver.dialect.identifier_preparer
        definition = self.driver.ddl(CreateColumn(column))
        return f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {definition}"

    async def _run(self, statements: list[str]) -> None:
        if not statements:
            return
        async with self.driver.acquire() as raw:
            connection: SqlConnection = raw  # type: ignore[assignment]

            async def run_all() -> None:
                for statement in statements:
                    await connection.run_sql(statement)

            await run_in_transaction(
                connection, run_all, transactional=self.driver.platform.transactional_ddl
            )
