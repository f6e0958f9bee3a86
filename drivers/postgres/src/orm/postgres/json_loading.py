"""The ``json-aggregate`` loading strategy: a query and its populated tree in one statement,
one row per root entity.

The root rows come from the same derived table as the ``joined`` strategy (filter, order,
LIMIT/OFFSET on roots). Each populated relation is a ``LEFT JOIN LATERAL`` subquery with one
json value: ``json_agg(json_build_array(<columns>, <nested values>) ORDER BY ...)`` for a
collection (``'[]'`` when empty), ``json_build_array(...)`` for a to-one relation (NULL when
there is none); deeper relations are laterals inside it. Values that JSON would change travel
as text (numeric, json) or hex (bytea) and are decoded per column like a plain row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

from orm.core.metadata.model import ColumnInfo, PropertyMetadata, RelationKind, ScalarKind
from orm.core.query.ast import PopulateNode, SelectQuery
from orm.query_builder.graph import entity_columns, root_page
from orm.query_builder.links import pivot_columns, pivot_links, relation_link
from orm.query_builder.render import Scope, SqlRenderer

Row = dict[str, Any]
Decode = Callable[[Any], Any]
# PostgreSQL functions take at most 100 arguments: wider rows are built from chunks.
_MAX_ARGUMENTS = 100


def json_select(
    renderer: SqlRenderer, query: SelectQuery
) -> tuple[sa.Select[Any], Callable[[Sequence[Sequence[Any]]], list[Row]]]:
    """The statement for ``query`` and the function turning its rows into nested rows."""
    page = root_page(renderer, query)
    columns: list[ColumnElement[Any]] = []
    read_root = entity_columns(renderer, page.scope, page.properties, columns).read
    from_clause: sa.FromClause = page.scope.from_clause
    nested: list[tuple[str, Decode]] = []
    for node in query.populate:
        lateral, decode = _lateral(renderer, page.scope, node)
        from_clause = from_clause.outerjoin(lateral, sa.true())
        columns.append(lateral.c.v)
        nested.append((node.prop.name, decode))
    statement = sa.select(*columns).select_from(from_clause).order_by(*page.order)
    width = len(columns) - len(nested)

    def fold(rows: Sequence[Sequence[Any]]) -> list[Row]:
        result = []
        for values in rows:
            row = read_root(values)
            for offset, (name, decode) in enumerate(nested):
                row[name] = decode(_parsed(values[width + offset]))
            result.append(row)
        return result

    return statement, fold


def _lateral(
    renderer: SqlRenderer, parent: Scope, node: PopulateNode
) -> tuple[sa.FromClause, Decode]:
    prop = node.prop
    target = prop.target
    assert target is not None
    child = Scope(renderer, target, renderer.alias(target))
    where = [] if node.where is None else [renderer.condition(child, node.where)]
    order = [t for item in node.order_by for t in renderer.order_item_terms(child, item)]
    from_clause: sa.FromClause = child.from_clause
    if prop.relation is RelationKind.MANY_TO_MANY:
        pivot_table, _, _ = pivot_columns(prop)
        pivot = renderer.tables[pivot_table].alias(renderer.next_alias("p"))
        to_parent, to_child = pivot_links(pivot, prop, parent, child)
        from_clause = from_clause.join(pivot, to_child)
        where.append(to_parent)
    else:
        where.append(relation_link(parent, child, prop))
    elements, decode_columns = _column_values(child, target.persistent, renderer)
    nested: list[tuple[str, Decode]] = []
    for sub in node.children:
        lateral, decode = _lateral(renderer, child, sub)
        from_clause = from_clause.outerjoin(lateral, sa.true())
        elements.append(lateral.c.v)
        nested.append((sub.prop.name, decode))
    element, flatten = _build_array(elements)

    def decode_entity(value: Any) -> Row:
        values = flatten(value)
        row = decode_columns(values)
        for offset, (name, decode) in enumerate(nested, start=len(values) - len(nested)):
            row[name] = decode(values[offset])
        return row

    if prop.is_collection:
        aggregated = sa.func.json_agg(aggregate_order_by(element, *order) if order else element)
        value = sa.func.coalesce(aggregated, sa.literal_column("'[]'::json"))

        def decode_items(items: Any) -> list[Row]:
            return [decode_entity(item) for item in items or ()]

        decoder: Decode = decode_items
    else:
        value = element

        def decode_one(item: Any) -> Row | None:
            return None if item is None else decode_entity(item)

        decoder = decode_one
    subquery = sa.select(value.label("v")).select_from(from_clause).where(*where)
    return subquery.lateral(renderer.next_alias("l")), decoder


def _column_values(
    scope: Scope, properties: Sequence[PropertyMetadata], renderer: SqlRenderer
) -> tuple[list[Any], Callable[[Sequence[Any]], Row]]:
    """The json-safe expressions of ``properties``' columns, and the decoder of their values."""
    elements: list[Any] = []
    steps: list[tuple[PropertyMetadata, list[tuple[ColumnInfo, Decode]]]] = []
    from_db = renderer.values.from_db
    for prop in properties:
        parts = []
        for column in prop.columns:
            expression, decode = _json_safe(scope.column(column), column)
            elements.append(expression)
            parts.append((column, decode))
        steps.append((prop, parts))

    def decode_columns(values: Sequence[Any]) -> Row:
        row: Row = {}
        position = 0
        for prop, parts in steps:
            decoded = []
            for column, decode in parts:
                raw = values[position]
                position += 1
                decoded.append(None if raw is None else from_db(column, decode(raw)))
            if prop.relation is None:
                row[prop.name] = decoded[0]
            else:
                row[prop.name] = None if all(v is None for v in decoded) else tuple(decoded)
        return row

    return elements, decode_columns


def _json_safe(expression: ColumnElement[Any], column: ColumnInfo) -> tuple[Any, Decode]:
    """What to put in the json array for a column, and how to read it back as asyncpg would
    return the column: JSON numbers would round numeric, and json/bytea need a text form."""
    kind = column.kind
    if kind in (ScalarKind.DECIMAL, ScalarKind.JSON):
        return sa.cast(expression, sa.Text), _same
    if kind is ScalarKind.BYTES:
        return sa.func.encode(expression, "hex"), bytes.fromhex
    if kind is ScalarKind.DATETIME:
        return expression, _datetime
    if kind is ScalarKind.DATE:
        return expression, _date
    return expression, _same


def _same(value: Any) -> Any:
    return value


# asyncpg reads PostgreSQL's infinite dates as the smallest and largest Python ones.
_INFINITE_DATES = {"infinity": dt.date.max, "-infinity": dt.date.min}
_INFINITE_DATETIMES = {"infinity": dt.datetime.max, "-infinity": dt.datetime.min}


def _date(value: Any) -> dt.date:
    return _INFINITE_DATES.get(value) or dt.date.fromisoformat(value)


def _datetime(value: Any) -> dt.datetime:
    infinite = _INFINITE_DATETIMES.get(value)
    if infinite is not None:
        return infinite
    parsed = dt.datetime.fromisoformat(value)
    # asyncpg returns timestamptz in UTC; json renders it in the session's time zone.
    return parsed.astimezone(dt.UTC) if parsed.tzinfo is not None else parsed


def _build_array(elements: list[Any]) -> tuple[Any, Callable[[Any], list[Any]]]:
    if len(elements) <= _MAX_ARGUMENTS:
        return sa.func.json_build_array(*elements), list
    chunks = [
        sa.func.json_build_array(*elements[i : i + _MAX_ARGUMENTS])
        for i in range(0, len(elements), _MAX_ARGUMENTS)
    ]

    def flatten(value: Any) -> list[Any]:
        return [item for chunk in value for item in chunk]

    return sa.func.json_build_array(*chunks), flatten


def _parsed(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value
