"""Alembic autogenerate comparators that compare structure, not names.

Registered as the alembic plugin ``orm.migrations.structure`` and used instead of alembic's
``alembic.autogenerate.constraints``:

* indexes and unique constraints match by their columns (and uniqueness), whatever their
  names, so a database made by another tool shows no phantom renames; on MySQL/MariaDB the index
  the server adds for a foreign key is not reported as extra;
* foreign keys match by columns, target and ``ON DELETE``/``ON UPDATE`` (``NO ACTION`` and
  ``RESTRICT`` count as the default);
* primary keys match by their columns;
* CHECK constraints: every one of the live table is read; orm's (the enum checks, named
  ``ck_<table>_<enum>``) match by name and by the quoted values they list, so changing an
  enum's values is a change, and a stray value-list CHECK on an enum column is dropped;
* nullability as alembic does it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import PriorityDispatchResult

from orm.migrations.checks import ReflectedCheck, literals, reflect_checks, value_list_column
from orm.query_builder.tables import enum_of_check

PLUGIN_NAME = "orm.migrations.structure"
_DEFAULT_ACTIONS = {None, "NO ACTION", "RESTRICT"}

CONTINUE = PriorityDispatchResult.CONTINUE


def _is_mysql(context: AutogenContext) -> bool:
    dialect = context.dialect
    return dialect is not None and dialect.name in ("mysql", "mariadb")


def _columns(element: Any) -> tuple[str, ...] | None:
    names = []
    for expression in element.expressions if isinstance(element, sa.Index) else element.columns:
        if not isinstance(expression, sa.Column):
            return None  # an expression index: not compared
        names.append(str(expression.name))
    return tuple(names)


def _uniques(table: sa.Table) -> dict[tuple[str, ...], Any]:
    found: dict[tuple[str, ...], Any] = {}
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            key = _columns(constraint)
            if key:
                found.setdefault(key, constraint)
    for index in table.indexes:
        key = _columns(index)
        if index.unique and key:
            found.setdefault(key, index)
    return found


def _plain_indexes(table: sa.Table) -> dict[tuple[str, ...], sa.Index]:
    found: dict[tuple[str, ...], sa.Index] = {}
    for index in table.indexes:
        key = _columns(index)
        if not index.unique and key:
            found.setdefault(key, index)
    return found


def _foreign_key_columns(table: sa.Table) -> set[tuple[str, ...]]:
    return {tuple(fk.column_keys) for fk in table.foreign_key_constraints}


def _add(element: Any) -> ops.MigrateOperation:
    if isinstance(element, sa.Index):
        return ops.CreateIndexOp.from_index(element)
    return ops.AddConstraintOp.from_constraint(element)


def _drop(element: Any) -> ops.MigrateOperation:
    if isinstance(element, sa.Index):
        return ops.DropIndexOp.from_index(element)
    return ops.DropConstraintOp.from_constraint(element)


def compare_indexes(
    context: AutogenContext,
    modify_ops: ops.ModifyTableOps,
    schema: str | None,
    table_name: str,
    conn_table: sa.Table | None,
    metadata_table: sa.Table | None,
) -> PriorityDispatchResult:
    if conn_table is None or metadata_table is None:
        return CONTINUE  # a new table's indexes come with its CREATE TABLE
    wanted_unique, have_unique = _uniques(metadata_table), _uniques(conn_table)
    wanted_plain, have_plain = _plain_indexes(metadata_table), _plain_indexes(conn_table)
    required = _foreign_key_columns(conn_table) if _is_mysql(context) else set()
    for key, element in have_unique.items():
        if key not in wanted_unique:
            modify_ops.ops.append(_drop(element))
    for key, index in have_plain.items():
        if key not in wanted_plain and key not in required:
            modify_ops.ops.append(_drop(index))
    for key, element in wanted_unique.items():
        if key not in have_unique:
            modify_ops.ops.append(_add(element))
    for key, index in wanted_plain.items():
        if key not in have_plain:
            modify_ops.ops.append(_add(index))
    return CONTINUE


def _action(value: str | None) -> str | None:
    normalized = value.upper() if value else None
    return None if normalized in _DEFAULT_ACTIONS else normalized


def _fk_signature(fk: sa.ForeignKeyConstraint) -> tuple[Any, ...]:
    targets = tuple(element.target_fullname.split(".")[-2:] for element in fk.elements)
    return (
        tuple(fk.column_keys),
        tuple(target[0] for target in targets),
        tuple(target[1] for target in targets),
        _action(fk.ondelete),
        _action(fk.onupdate),
    )


def compare_foreign_keys(
    context: AutogenContext,
    modify_ops: ops.ModifyTableOps,
    schema: str | None,
    table_name: str,
    conn_table: sa.Table | None,
    metadata_table: sa.Table | None,
) -> PriorityDispatchResult:
    if conn_table is None or metadata_table is None:
        return CONTINUE
    wanted = {_fk_signature(fk): fk for fk in metadata_table.foreign_key_constraints}
    have = {_fk_signature(fk): fk for fk in conn_table.foreign_key_constraints}
    for key, fk in have.items():
        if key not in wanted:
            modify_ops.ops.append(ops.DropConstraintOp.from_constraint(fk))
    for key, fk in wanted.items():
        if key not in have:
            modify_ops.ops.append(ops.CreateForeignKeyOp.from_constraint(fk))
    return CONTINUE


def compare_primary_key(
    context: AutogenContext,
    modify_ops: ops.ModifyTableOps,
    schema: str | None,
    table_name: str,
    conn_table: sa.Table | None,
    metadata_table: sa.Table | None,
) -> PriorityDispatchResult:
    if conn_table is None or metadata_table is None:
        return CONTINUE
    wanted = tuple(c.name for c in metadata_table.primary_key.columns)
    have = tuple(c.name for c in conn_table.primary_key.columns)
    if wanted != have:
        if have:
            modify_ops.ops.append(ops.DropConstraintOp.from_constraint(conn_table.primary_key))
        if wanted:
            modify_ops.ops.append(
                ops.CreatePrimaryKeyOp.from_constraint(metadata_table.primary_key)
            )
    return CONTINUE


def _check_text(constraint: sa.CheckConstraint, context: AutogenContext) -> str:
    assert context.dialect is not None
    sqltext: Any = constraint.sqltext
    compiled = sqltext.compile(
        dialect=context.dialect, compile_kwargs={"literal_binds": True, "include_table": False}
    )
    return str(compiled)


def compare_checks(
    context: AutogenContext,
    modify_ops: ops.ModifyTableOps,
    schema: str | None,
    table_name: str,
    conn_table: sa.Table | None,
    metadata_table: sa.Table | None,
) -> PriorityDispatchResult:
    """Every CHECK of the live table is read (see :mod:`orm.migrations.checks`); orm's own are
    kept when their name and values match, dropped (or replaced) otherwise. orm's own: one the
    entities declare, one named ``ck_<table>_...``, and any value-list CHECK on a column the
    entities give an enum CHECK (a stray one, whatever its name, would reject new values)."""
    if conn_table is None or metadata_table is None:
        return CONTINUE
    assert context.connection is not None
    wanted = {
        str(c.name): c
        for c in metadata_table.constraints
        if isinstance(c, sa.CheckConstraint) and isinstance(c.name, str)
    }
    wanted_text = {name: _check_text(check, context) for name, check in wanted.items()}
    columns = [str(c.name) for c in conn_table.columns]
    enum_columns = {value_list_column(text, columns) for text in wanted_text.values()} - {None}
    matched: set[str] = set()
    for check in reflect_checks(context.connection, table_name, schema):
        name = check.name
        if (
            name in wanted_text
            and name not in matched
            and literals(check.sqltext) == literals(wanted_text[name])
        ):
            matched.add(name)
            continue
        if (
            name in wanted
            or enum_of_check(table_name, name) is not None
            or value_list_column(check.sqltext, columns) in enum_columns
        ):
            modify_ops.ops.append(_drop_check(check, conn_table, schema))
    for name, text in wanted_text.items():
        if name not in matched:
            modify_ops.ops.append(
                ops.CreateCheckConstraintOp(name, table_name, text, schema=schema)
            )
    return CONTINUE


def _drop_check(
    check: ReflectedCheck, conn_table: sa.Table, schema: str | None
) -> ops.MigrateOperation:
    table_name = str(conn_table.name)
    if check.column_level and check.name is not None and check.name in conn_table.columns:
        # MariaDB: defining the column again (MODIFY, as it is) leaves its CHECK out.
        column = conn_table.columns[check.name]
        return ops.AlterColumnOp(
            table_name,
            check.name,
            schema=schema,
            modify_type=column.type,
            existing_type=column.type,
            existing_nullable=column.nullable,
            existing_server_default=column.server_default,
        )
    # Built from the reflected text, so that the inverse (down) re-creates it as it was. The
    # condition is text: an expression over the entity table's columns would attach the
    # constraint alembic builds from it (e.g. when reversing) to that table.
    table = sa.Table(table_name, sa.MetaData(), schema=schema)
    constraint = sa.CheckConstraint(sa.text(check.sqltext), name=check.name)
    table.append_constraint(constraint)
    return ops.DropConstraintOp.from_constraint(constraint)


def compare_nullable(
    context: AutogenContext,
    alter_op: ops.AlterColumnOp,
    schema: str | None,
    table_name: str,
    column_name: str,
    conn_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
) -> PriorityDispatchResult:
    alter_op.existing_nullable = conn_column.nullable
    if conn_column.nullable is not metadata_column.nullable:
        alter_op.modify_nullable = metadata_column.nullable
    return CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(compare_indexes, "table", "indexes")
    plugin.add_autogenerate_comparator(compare_foreign_keys, "table", "foreignkeys")
    plugin.add_autogenerate_comparator(compare_primary_key, "table", "primarykey")
    plugin.add_autogenerate_comparator(compare_checks, "table", "checkconstraints")
    plugin.add_autogenerate_comparator(compare_nullable, "column", "nullable")


_registered = False


def register() -> list[str]:
    """Register the plugin once; return the ``autogenerate_plugins`` list to configure."""
    global _registered
    if not _registered:
        import sys

        Plugin.setup_plugin_from_module(sys.modules[__name__], PLUGIN_NAME)
        _registered = True
    return ["alembic.autogenerate.*", "~alembic.autogenerate.constraints", PLUGIN_NAME]
