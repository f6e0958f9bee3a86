"""Rendering schema operations to the dialect's DDL, one statement per string."""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations, ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from orm.migrations.connection import family
from orm.query_builder import SqlDriver

REBUILD_PREFIX = "_orm_new_"


class OpRenderer:
    """Renders alembic operations offline (``as_sql``) for the driver's dialect."""

    def __init__(self, driver: SqlDriver) -> None:
        self.driver = driver
        self.dialect = driver.dialect
        self._statements: list[str] = []
        context = MigrationContext.configure(
            dialect=driver.dialect,
            opts={"as_sql": True, "output_buffer": io.StringIO(), "literal_binds": True},
        )
        terminator = context.impl.command_terminator

        def collect(text: str) -> None:
            statement = text.strip()
            if terminator and statement.endswith(terminator):
                statement = statement[: -len(terminator)].rstrip()
            self._statements.append(statement)

        context.impl.static_output = collect  # type: ignore[method-assign]
        self._operations = Operations(context)

    def render(self, op: ops.MigrateOperation) -> list[str]:
        self._statements = []
        with warnings.catch_warnings():
            # alembic passes MySQL's autoincrement flag to every dialect and warns about it
            warnings.filterwarnings("ignore", message=".*autoincrement.*only make sense")
            self._operations.invoke(op)
        return list(self._statements)

    # -- tables, through the driver (the same DDL as ``schema:create``) ---------------------

    def quote(self, name: str) -> str:
        return str(self.dialect.identifier_preparer.quote(name))

    def create_table(
        self, table: sa.Table, foreign_keys: Sequence[sa.ForeignKeyConstraint], *, reflected: bool
    ) -> list[str]:
        """CREATE TABLE with ``foreign_keys`` inline, then its indexes."""
        create = CreateTable(table, include_foreign_key_constraints=list(foreign_keys))
        # A reflected table carries its own table options (ENGINE=...); the driver adds them
        # to tables built from entities.
        statements = [self._plain(create) if reflected else self.driver.ddl(create)]
        statements += self.create_indexes(table)
        return statements

    def create_indexes(self, table: sa.Table) -> list[str]:
        return [
            self.driver.ddl(CreateIndex(index))
            for index in sorted(table.indexes, key=lambda i: str(i.name))
        ]

    def add_constraint(self, constraint: sa.Constraint) -> str:
        return self.driver.ddl(AddConstraint(constraint))

    def drop_table(self, name: str) -> str:
        return f"DROP TABLE {self.quote(name)}"

    def _plain(self, element: Any) -> str:
        return str(element.compile(dialect=self.dialect)).strip()

    # -- SQLite: the table rebuild ------------------------------------------------------------

    def add_filled_column(self, op: ops.AddColumnOp, literal: str) -> list[str]:
        """ADD COLUMN ... NOT NULL DEFAULT ``literal`` (fills the rows), then DROP DEFAULT (the
        entities have none); see :mod:`orm.migrations.backfill`."""
        column = op.column
        filled = sa.Column(
            column.name, column.type, nullable=False, server_default=sa.text(literal)
        )
        add = ops.AddColumnOp(op.table_name, filled, schema=op.schema)
        drop_default = ops.AlterColumnOp(
            op.table_name,
            str(column.name),
            schema=op.schema,
            modify_server_default=None,
            existing_server_default=sa.text(literal),
            existing_type=column.type,
            existing_nullable=False,
        )
        return self.render(add) + self.render(drop_default)

    def rebuild(
        self,
        source: sa.Table,
        target: sa.Table,
        *,
        reflected_target: bool,
        fill: Mapping[str, str] | None = None,
    ) -> list[str]:
        """SQLite's ALTER TABLE replacement: create the new shape, copy, drop, rename.

        ``fill`` gives the value (a SQL literal) of new columns for the copied rows.

        Foreign-key enforcement is off while it runs (see :mod:`orm.migrations.runner`).
        """
        assert family(self.driver) == "sqlite"
        temporary = REBUILD_PREFIX + target.name
        create = CreateTable(target)
        text = self._plain(create) if reflected_target else self.driver.ddl(create)
        head = f"CREATE TABLE {self.quote(target.name)}"
        if not text.startswith(head):
            raise AssertionError(f"unexpected CREATE TABLE text: {text[:60]}")
        statements = [f"CREATE TABLE {self.quote(temporary)}{text[len(head) :]}"]
        common = [c.name for c in target.columns if c.name in source.columns]
        filled = {
            name: literal
            for name, literal in (fill or {}).items()
            if name in target.columns and name not in source.columns
        }
        if common:
            columns = ", ".join(self.quote(name) for name in [*common, *filled])
            values = ", ".join([*(self.quote(name) for name in common), *filled.values()])
            statements.append(
                f"INSERT INTO {self.quote(temporary)} ({columns}) "
                f"SELECT {values} FROM {self.quote(source.name)}"
            )
        statements.append(self.drop_table(source.name))
        statements.append(
            f"ALTER TABLE {self.quote(temporary)} RENAME TO {self.quote(target.name)}"
        )
        statements += self.create_indexes(target)
        return statements
