"""The schema diff: entities (the wanted schema) against the live database (reflected).

Alembic's autogenerate comparison finds the differences (with orm's comparators, see
:mod:`orm.migrations.compare` and :mod:`orm.migrations.normalize`); this module orders them,
renders each with its inverse, and marks the ones that lose data.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

from orm.core import ORM
from orm.migrations import compare, normalize
from orm.migrations.backfill import ColumnFill, column_fill, has_rows, needs_fill
from orm.migrations.changes import Change, SchemaDiff
from orm.migrations.connection import as_written, family, sql_driver, target_metadata
from orm.migrations.ordering import dependency_order, fk_target
from orm.migrations.reflection import run_reflected
from orm.migrations.render import REBUILD_PREFIX, OpRenderer
from orm.migrations.risk import data_loss
from orm.migrations.storage import DEFAULT_TABLE
from orm.query_builder import SqlDriver


def excluded_tables(orm: ORM) -> set[str]:
    table = orm.config.migrations_table or DEFAULT_TABLE
    return {table, f"{table}_lock"}


def _context_options(metadata: sa.MetaData, excluded: set[str]) -> dict[str, Any]:
    def include_name(name: str | None, kind: str, parent: Any) -> bool:
        if kind == "table":
            return bool(name) and name not in excluded and not str(name).startswith(REBUILD_PREFIX)
        return True

    return {
        "target_metadata": metadata,
        "compare_type": normalize.compare_type,
        "compare_server_default": normalize.compare_server_default,
        "include_name": include_name,
        "autogenerate_plugins": compare.register(),
    }


async def compute_diff(orm: ORM, *, from_empty: bool = False, drops: bool = True) -> SchemaDiff:
    """What to change in the database so that it matches the entities.

    ``from_empty`` ignores the database and describes the whole schema (an initial migration).
    """
    driver = sql_driver(orm.driver)
    metadata = _copy(target_metadata(orm))
    if from_empty:
        create = [ops.CreateTableOp.from_table(t) for t in metadata.sorted_tables]
        return plan(driver, metadata, list(create), sa.MetaData(), existing=set())
    options = _context_options(metadata, excluded_tables(orm))

    def compute(connection: sa.Connection) -> tuple[list[Any], sa.MetaData, set[str], set[str]]:
        context = MigrationContext.configure(connection, opts=options)
        with warnings.catch_warnings():
            # Foreign-key cycles are fine here: orm orders and defers them itself.
            warnings.filterwarnings("ignore", message="Cannot correctly sort tables")
            upgrade = produce_migrations(context, metadata).upgrade_ops
        assert upgrade is not None
        operations = list(upgrade.ops)
        wanted = {
            op.table_name
            for op in operations
            if isinstance(op, (ops.DropTableOp, ops.ModifyTableOps))
        }
        reflected = sa.MetaData()
        if wanted:
            reflected.reflect(connection, only=sorted(wanted))
        existing = set(sa.inspect(connection).get_table_names())
        populated = {table for table, _ in _new_required_columns(operations)}
        populated = {table for table in populated if has_rows(connection, table)}
        return operations, reflected, existing, populated

    operations, reflected, existing, populated = await run_reflected(driver, compute)
    skipped: list[str] = []
    if not drops:
        operations = _without_drops(operations, skipped)
    fills = {
        (table, str(column.name)): column_fill(orm, driver, table, column)
        for table, column in _new_required_columns(operations)
    }
    diff = plan(
        driver,
        metadata,
        operations,
        reflected,
        existing=existing,
        keep_columns=not drops,
        fills=fills,
    )
    diff.skipped = skipped
    diff.populated = populated
    return diff


def _new_required_columns(operations: list[Any]) -> list[tuple[str, sa.Column[Any]]]:
    """(table, column) of every column added NOT NULL without a server default."""
    return [
        (op.table_name, sub.column)
        for op in operations
        if isinstance(op, ops.ModifyTableOps)
        for sub in op.ops
        if isinstance(sub, ops.AddColumnOp) and needs_fill(sub.column)
    ]


def _without_drops(operations: list[Any], skipped: list[str]) -> list[Any]:
    kept: list[Any] = []
    for op in operations:
        if isinstance(op, ops.DropTableOp):
            skipped.append(f"drop table {op.table_name}")
            continue
        if isinstance(op, ops.ModifyTableOps):
            for sub in op.ops:
                if isinstance(sub, ops.DropColumnOp):
                    skipped.append(f"drop column {op.table_name}.{sub.column_name}")
            op.ops = [sub for sub in op.ops if not isinstance(sub, ops.DropColumnOp)]
        kept.append(op)
    return kept


def _copy(metadata: sa.MetaData) -> sa.MetaData:
    """A private copy: alembic's operations may attach constraints to the tables they see."""
    copy = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(copy)
    return copy


# -- ordering and rendering ------------------------------------------------------------------

# Phases of the "up" direction; "down" runs every change's inverse in the reverse order.
_DROP_CONSTRAINTS, _CREATE_TABLES, _COLUMNS, _ADD_CONSTRAINTS, _ADD_FKS, _DROP_TABLES = range(6)
_SQLITE_SIMPLE = (ops.CreateIndexOp, ops.DropIndexOp)


def _phase(op: ops.MigrateOperation) -> int:
    if isinstance(op, (ops.DropConstraintOp, ops.DropIndexOp)):
        return _DROP_CONSTRAINTS
    if isinstance(op, ops.CreateForeignKeyOp):
        return _ADD_FKS
    if isinstance(op, (ops.AddConstraintOp, ops.CreateIndexOp)):
        return _ADD_CONSTRAINTS
    return _COLUMNS


def _sqlite_simple(op: ops.MigrateOperation) -> bool:
    if isinstance(op, _SQLITE_SIMPLE):
        return True
    if isinstance(op, ops.AddColumnOp):
        column = op.column
        return (
            not column.primary_key
            and not column.foreign_keys
            and (column.nullable or column.server_default is not None)
        )
    return False


class _Planner:
    def __init__(
        self,
        driver: SqlDriver,
        metadata: sa.MetaData,
        reflected: sa.MetaData,
        existing: set[str],
        keep_columns: bool,
        fills: dict[tuple[str, str], ColumnFill],
    ) -> None:
        self.keep_columns = keep_columns
        self.fills = fills
        self.driver = driver
        self.metadata = metadata
        self.reflected = reflected
        self.existing = existing
        self.renderer = OpRenderer(driver)
        self.sqlite = family(driver) == "sqlite"
        self.staged: list[tuple[int, int, Change]] = []

    def add(self, phase: int, change: Change) -> None:
        self.staged.append((phase, len(self.staged), change))

    def result(self) -> SchemaDiff:
        ordered = [change for _, _, change in sorted(self.staged, key=lambda s: (s[0], s[1]))]
        for change in ordered:
            change.up = [as_written(self.driver, sql) for sql in change.up]
            change.down = [as_written(self.driver, sql) for sql in change.down]
        return SchemaDiff(family(self.driver), ordered)

    def op_change(self, kind: str, table: str, description: str, op: Any) -> Change:
        reverse = op.reverse()
        return Change(
            kind,
            table,
            description,
            self.renderer.render(op),
            self.renderer.render(reverse),
            data_loss(op),
            data_loss(reverse),
        )

    # -- tables ----------------------------------------------------------------------------

    def create_tables(self, names: Sequence[str]) -> None:
        tables = [self.metadata.tables[name] for name in names]
        created: set[str] = set()
        deferred: list[sa.ForeignKeyConstraint] = []
        for table in dependency_order(tables):
            inline = []
            for fk in table.foreign_key_constraints:
                target = fk_target(fk)
                if (
                    self.sqlite
                    or target in created
                    or target == table.name
                    or (target in self.existing and target not in names)
                ):
                    inline.append(fk)
                else:
                    deferred.append(fk)
            created.add(table.name)
            up = self.renderer.create_table(table, inline, reflected=False)
            down = [self.renderer.drop_table(table.name)]
            self.add(
                _CREATE_TABLES,
                Change(
                    "create_table",
                    table.name,
                    f"create table {table.name}",
                    up,
                    down,
                    down_data_loss=f"drops table {table.name} and all its rows",
                ),
            )
        for fk in deferred:
            op = ops.CreateForeignKeyOp.from_constraint(fk)
            up = [self.renderer.add_constraint(fk)]
            down = self.renderer.render(op.reverse())
            self.add(
                _ADD_FKS,
                Change("add_fk", fk.table.name, f"add foreign key {fk.name}", up, down),
            )

    def drop_tables(self, names: Sequence[str]) -> None:
        tables = [self.reflected.tables[name] for name in names]
        for table in reversed(dependency_order(tables)):
            up = [self.renderer.drop_table(table.name)]
            down = self.renderer.create_table(
                table, list(table.foreign_key_constraints), reflected=True
            )
            self.add(
                _DROP_TABLES,
                Change(
                    "drop_table",
                    table.name,
                    f"drop table {table.name}",
                    up,
                    down,
                    data_loss=f"drops table {table.name} and all its rows",
                ),
            )

    # -- columns, indexes, constraints -----------------------------------------------------

    def modify(self, modify: ops.ModifyTableOps) -> None:
        name = modify.table_name
        fills = [
            fill
            for op in modify.ops
            if isinstance(op, ops.AddColumnOp)
            and (fill := self.fills.get((name, str(op.column.name)))) is not None
        ]
        if self.sqlite and not all(_sqlite_simple(op) for op in modify.ops):
            self.rebuild(modify, fills)
            return
        for op in modify.ops:
            kind, description = _describe(op)
            change = self.op_change(kind, name, description, op)
            fill = next(
                (
                    f
                    for f in fills
                    if isinstance(op, ops.AddColumnOp) and f.column == op.column.name
                ),
                None,
            )
            if fill is not None and fill.literal is not None:
                assert isinstance(op, ops.AddColumnOp)
                change.up = self.renderer.add_filled_column(op, fill.literal)
            elif fill is not None:
                change.requires_empty = fill.problem
            self.add(_phase(op), change)

    def rebuild(self, modify: ops.ModifyTableOps, fills: Sequence[ColumnFill] = ()) -> None:
        name = modify.table_name
        source, target = self.reflected.tables[name], self.metadata.tables[name]
        if self.keep_columns:
            # Columns the entities lack stay (no drops wanted): the new table keeps them.
            for column in source.columns:
                if column.name not in target.columns:
                    target.append_column(column._copy())
        filled = {f.column: f.literal for f in fills if f.literal is not None}
        up = self.renderer.rebuild(source, target, reflected_target=False, fill=filled)
        down = self.renderer.rebuild(target, source, reflected_target=True)
        reverse = modify.reverse()
        described = "; ".join(_describe(op)[1] for op in modify.ops)
        self.add(
            _COLUMNS,
            Change(
                "rebuild_table",
                name,
                f"rebuild table {name} ({described})",
                up,
                down,
                data_loss(modify),
                data_loss(reverse),
                requires_empty="; ".join(f.problem for f in fills if f.problem) or None,
            ),
        )


def _describe(op: Any) -> tuple[str, str]:
    table = getattr(op, "table_name", "")
    if isinstance(op, ops.AddColumnOp):
        return "add_column", f"add column {table}.{op.column.name}"
    if isinstance(op, ops.DropColumnOp):
        return "drop_column", f"drop column {table}.{op.column_name}"
    if isinstance(op, ops.AlterColumnOp):
        parts = []
        if op.modify_type is not None:
            parts.append(f"type {op.existing_type} -> {op.modify_type}")
        if op.modify_nullable is not None:
            parts.append("nullable" if op.modify_nullable else "not null")
        if op.modify_server_default is not False:
            parts.append("default")
        return "alter_column", f"alter column {table}.{op.column_name}: {', '.join(parts)}"
    if isinstance(op, ops.CreateIndexOp):
        return "add_index", f"add index {op.index_name} on {table}"
    if isinstance(op, ops.DropIndexOp):
        return "drop_index", f"drop index {op.index_name} on {table}"
    if isinstance(op, ops.CreateForeignKeyOp):
        return "add_fk", f"add foreign key {op.constraint_name} on {op.source_table}"
    if isinstance(op, ops.AddConstraintOp):
        name = getattr(op, "constraint_name", None) or op.constraint_type
        return "add_constraint", f"add constraint {name} on {table}"
    if isinstance(op, ops.DropConstraintOp):
        return "drop_constraint", f"drop constraint {op.constraint_name} on {table}"
    return type(op).__name__, f"{type(op).__name__} on {table}"


def plan(
    driver: SqlDriver,
    metadata: sa.MetaData,
    operations: list[Any],
    reflected: sa.MetaData,
    *,
    existing: set[str],
    keep_columns: bool = False,
    fills: dict[tuple[str, str], ColumnFill] | None = None,
) -> SchemaDiff:
    """Order and render ``operations``; ``fills`` says how to fill new NOT NULL columns."""
    planner = _Planner(driver, metadata, reflected, existing, keep_columns, fills or {})
    planner.create_tables([op.table_name for op in operations if isinstance(op, ops.CreateTableOp)])
    planner.drop_tables([op.table_name for op in operations if isinstance(op, ops.DropTableOp)])
    for op in operations:
        if isinstance(op, ops.ModifyTableOps) and op.ops:
            planner.modify(op)
    return planner.result()
