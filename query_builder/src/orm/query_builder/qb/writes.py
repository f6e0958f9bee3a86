"""The bulk writes of a builder: INSERT, UPDATE, DELETE and TRUNCATE statements.

They write straight to the table, bypassing the unit of work. Values are ``{property: value}``
dicts checked against the metadata and bound through the driver's converters (an expression
such as ``raw()`` or a subquery may stand for one column); missing properties of an INSERT
take the entity's defaults. An UPDATE/DELETE filters the table itself when it can, else
matches the root keys a joined, ordered or limited SELECT picks (:func:`.select.root_page`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.errors import ValidationError
from orm.core.keys import coerce_scalar, normalize_key
from orm.core.metadata.model import EntityMetadata, ScalarKind
from orm.core.query.filter import is_expression
from orm.query_builder.qb.build import Build
from orm.query_builder.qb.constructs import Exists, Truncate
from orm.query_builder.qb.raw import Raw
from orm.query_builder.qb.select import root_page
from orm.query_builder.render import SqlRenderer

if TYPE_CHECKING:
    from orm.query_builder.qb.builder import QueryBuilder


def insert_statement(qb: QueryBuilder[Any], renderer: SqlRenderer) -> sa.Insert | None:
    meta = qb.state.meta
    table = renderer.tables[meta.table]
    rows = [_insert_row(meta, renderer, row, index) for index, row in enumerate(qb.state.rows)]
    if not rows:
        return None
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns_by_name = {c.name: c for p in meta.persistent for c in p.columns}
    for row in rows:
        for name in names:
            if name not in row:
                row[name] = renderer.bind(columns_by_name[name], None)
    return sa.insert(table).values(rows if len(rows) > 1 else rows[0])


def _insert_row(
    meta: EntityMetadata, renderer: SqlRenderer, data: Mapping[str, Any], index: int
) -> dict[str, Any]:
    where = f"insert() row {index}"
    values = _assignments(meta, renderer, data, where=where)
    for prop in meta.persistent:
        if prop.name in data:
            continue
        if prop.default_factory is not None:
            default = prop.default_factory()
        elif prop.has_default:
            default = prop.default
        else:
            continue
        values.update(_assignments(meta, renderer, {prop.name: default}, where=where))
    return values


def _assignments(
    meta: EntityMetadata, renderer: SqlRenderer, data: Mapping[str, Any], *, where: str
) -> dict[str, Any]:
    """``{property: value}`` -> ``{column name: bound value or expression}``."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"{where}: expected a dict of property values, got {data!r}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        prop = meta.properties.get(name) if isinstance(name, str) else None
        if prop is None:
            raise ValidationError(
                f"{where}: {meta.class_name} has no property {name!r}; known properties: "
                f"{', '.join(p.name for p in meta.persistent)}"
            )
        if not prop.is_persistent:
            raise ValidationError(
                f"{where}: {prop.path} is a collection or the inverse side of a relation; set "
                f"the owning side (the foreign key) instead"
            )
        at = f"{where} {prop.path}"
        if is_expression(value):
            if len(prop.columns) != 1:
                raise ValidationError(f"{at}: an expression sets one column; this key has several")
            expression = value.__orm_expression__(renderer)
            if isinstance(expression, sa.Select):
                expression = expression.scalar_subquery()
            values[prop.columns[0].name] = expression
        elif prop.relation is None:
            kind = prop.kind
            assert kind is not None
            if kind is not ScalarKind.JSON:
                value = coerce_scalar(kind, value, where=at, enum_type=prop.enum_type)
            values[prop.columns[0].name] = renderer.bind(prop.columns[0], value)
        else:
            target = prop.target
            assert target is not None
            key = None if value is None else normalize_key(target, value, where=at)
            for index, column in enumerate(prop.columns):
                part = None if key is None else key[index]
                values[column.name] = renderer.bind(column, part)
    return values


def update_statement(qb: QueryBuilder[Any], renderer: SqlRenderer) -> sa.Update:
    renderer.restart_aliases()
    meta = qb.state.meta
    table = renderer.tables[meta.table]
    if not qb.state.values:
        raise ValidationError("update() needs a dict of property values to set")
    statement = sa.update(table)
    condition = _dml_condition(qb, renderer, table)
    if condition is not None:
        statement = statement.where(condition)
    build = Build(qb, renderer, None, plain_root=True)
    build.dml_table = meta.table
    with build.active():
        values = _assignments(meta, renderer, qb.state.values, where="update()")
    return statement.values(values)


def delete_statement(qb: QueryBuilder[Any], renderer: SqlRenderer) -> sa.Delete:
    renderer.restart_aliases()
    table = renderer.tables[qb.state.meta.table]
    statement = sa.delete(table)
    condition = _dml_condition(qb, renderer, table)
    if condition is not None:
        statement = statement.where(condition)
    return statement


def _dml_condition(
    qb: QueryBuilder[Any], renderer: SqlRenderer, table: sa.Table
) -> ColumnElement[bool] | None:
    """The WHERE of an UPDATE/DELETE: on the table itself when the filter needs no join, else
    ``key IN (SELECT key FROM (SELECT ... joins ... WHERE ...) AS e)``."""
    if qb.state.group_by or qb.state.select or qb.state.distinct:
        raise ValidationError(
            f"{qb.state.type}() takes where(), joins, order_by() and limit(); not select(), "
            f"group_by() or distinct()"
        )
    simple = not (
        qb.state.joins
        or qb.state.having
        or qb.state.limit is not None
        or qb.state.offset
        or qb.state.order_by
        or _mentions_raw(qb.state.where)
    )
    if simple:
        build = Build(qb, renderer, None, plain_root=True)
        build.dml_table = qb.state.meta.table
        with build.active():
            condition = build.where_clause()
        if build.root.from_clause is build.root.alias:
            return condition
        renderer.restart_aliases()
    keys = root_page(qb, renderer, dml_table=qb.state.meta.table)
    columns = [table.c[c.name] for c in qb.state.meta.pk_columns]
    target: Any = columns[0] if len(columns) == 1 else sa.tuple_(*columns)
    result: ColumnElement[bool] = target.in_(keys)
    return result


def _mentions_raw(node: Any) -> bool:
    if isinstance(node, Raw):
        return True
    if isinstance(node, Mapping):
        return any(_mentions_raw(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_mentions_raw(v) for v in node)
    if isinstance(node, Exists):
        return _mentions_raw(node.query.state.where)
    return False


def truncate_statement(qb: QueryBuilder[Any], renderer: SqlRenderer) -> Truncate:
    return Truncate(renderer.tables[qb.state.meta.table])
