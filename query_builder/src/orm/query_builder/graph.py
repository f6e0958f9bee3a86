"""One statement for a query and its populated relations: the ``joined`` loading strategy.

The root rows come from a derived table (:func:`root_page`) that applies the query's filter,
order, LIMIT and OFFSET, so pagination counts root entities however many child rows each one
joins. Each populated relation is a LEFT JOIN off its parent (through the pivot table for a
many-to-many relation), with ``populate_where`` in its ON clause; the rows are sorted by the
root order, then each collection's order, and :func:`assemble` folds them back into one
nested row per root (the shape ``Connection.find_graph`` returns).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.metadata.model import PropertyMetadata, RelationKind
from orm.core.query.ast import PopulateNode, SelectQuery
from orm.query_builder.links import (
    EntitySlice,
    entity_slice,
    pivot_columns,
    pivot_links,
    relation_link,
    select_properties,
)
from orm.query_builder.render import Scope, SqlRenderer

Row = dict[str, Any]


@dataclass
class RootPage:
    """The root rows of a query as a derived table, and how to keep their order outside it."""

    scope: Scope  # on the derived table: its columns carry the table's column names
    properties: list[PropertyMetadata]
    order: list[Any]  # ORDER BY terms on the derived table (the query's order, then the key)


def root_page(renderer: SqlRenderer, query: SelectQuery, *, name: str = "r") -> RootPage:
    """``(SELECT <root columns>, <order keys> FROM root ... WHERE ... ORDER BY ... LIMIT ...)``.

    The root properties are ``query.fields`` (or all) plus the foreign keys of populated
    to-one relations, which the joins need. Order keys reached through to-one relations are
    selected as ``__o<n>`` so the outer statement can sort by them.
    """
    root = renderer.root_scope(query.entity)
    properties = list(query.fields or query.entity.persistent)
    for node in query.populate:
        if node.prop.is_owning_to_one and node.prop not in properties:
            properties.append(node.prop)
    columns: list[Any] = [root.column(c).label(c.name) for p in properties for c in p.columns]
    order_keys: list[tuple[str, Any]] = []
    for item in query.order_by:
        *hops, last = item.path
        scope = root.join(hops) if hops else root
        for column in last.columns:
            label = f"__o{len(order_keys)}"
            columns.append(scope.column(column).label(label))
            order_keys.append((label, item))
    statement = sa.select(*columns)
    if query.where is not None:
        statement = statement.where(renderer.condition(root, query.where))
    if query.limit is not None or query.offset:
        statement = statement.order_by(
            *(t for item in query.order_by for t in renderer.order_item_terms(root, item))
        )
        if query.limit is not None:
            statement = statement.limit(query.limit)
        if query.offset:
            statement = statement.offset(query.offset)
    derived = statement.select_from(root.from_clause).subquery(name)
    scope = Scope(renderer, query.entity, derived)
    order = [t for label, item in order_keys for t in renderer.order_terms(derived.c[label], item)]
    order.extend(scope.column(c).asc() for c in query.entity.pk_columns)
    return RootPage(scope, properties, order)


@dataclass
class NodeReader:
    """Where one populated relation's entity sits in a joined row, and the ones below it."""

    prop: PropertyMetadata
    entity: EntitySlice
    children: list[NodeReader] = field(default_factory=list)
    name: str = field(init=False)
    is_collection: bool = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.prop.name
        self.is_collection = self.prop.is_collection


def joined_select(
    renderer: SqlRenderer, query: SelectQuery
) -> tuple[sa.Select[Any], Callable[[Sequence[Sequence[Any]]], list[Row]]]:
    """The ``joined`` statement for ``query`` and the function folding its rows into nested
    rows, one per root entity in order."""
    page = root_page(renderer, query)
    columns: list[ColumnElement[Any]] = []
    root = entity_columns(renderer, page.scope, page.properties, columns)
    joins = _Joins(renderer, page.scope.from_clause, columns, list(page.order))
    children = joins.attach(page.scope, query.populate)
    statement = sa.select(*columns).select_from(joins.from_clause).order_by(*joins.order)

    def fold(rows: Sequence[Sequence[Any]]) -> list[Row]:
        return assemble(rows, root, children)

    return statement, fold


class _Joins:
    def __init__(
        self,
        renderer: SqlRenderer,
        from_clause: sa.FromClause,
        columns: list[ColumnElement[Any]],
        order: list[Any],
    ) -> None:
        self.renderer = renderer
        self.from_clause = from_clause
        self.columns = columns
        self.order = order

    def attach(self, parent: Scope, nodes: Sequence[PopulateNode]) -> list[NodeReader]:
        readers = []
        for node in nodes:
            prop = node.prop
            target = prop.target
            assert target is not None
            renderer = self.renderer
            child = Scope(renderer, target, renderer.alias(target))
            # Conditions and order keys first: they may join to-one relations of the child.
            extra = None if node.where is None else renderer.condition(child, node.where)
            child_order = [
                t for item in node.order_by for t in renderer.order_item_terms(child, item)
            ]
            if prop.relation is RelationKind.MANY_TO_MANY:
                pivot_table, _, _ = pivot_columns(prop)
                pivot = renderer.tables[pivot_table].alias(renderer.next_alias("p"))
                to_pivot, link = pivot_links(pivot, prop, parent, child)
                self.from_clause = self.from_clause.outerjoin(pivot, to_pivot)
            else:
                link = relation_link(parent, child, prop)
            onclause = link if extra is None else sa.and_(link, extra)
            self.from_clause = self.from_clause.outerjoin(child.from_clause, onclause)
            entity = entity_columns(renderer, child, target.persistent, self.columns)
            if prop.is_collection:
                self.order.extend(child_order)
                ordered = {item.path[0].name for item in node.order_by if len(item.path) == 1}
                self.order.extend(
                    child.column(c).asc()
                    for key in target.primary_keys
                    if key.name not in ordered
                    for c in key.columns
                )
            readers.append(NodeReader(prop, entity, self.attach(child, node.children)))
        return readers


def entity_columns(
    renderer: SqlRenderer,
    scope: Scope,
    properties: Sequence[PropertyMetadata],
    columns: list[ColumnElement[Any]],
) -> EntitySlice:
    """Select ``properties`` of ``scope`` into ``columns``; return how to read that slice."""
    return entity_slice(select_properties(scope, properties, columns), renderer.values)


def assemble(
    rows: Sequence[Sequence[Any]], root: EntitySlice, children: Sequence[NodeReader]
) -> list[Row]:
    """Fold joined rows into one nested row per root, in first-seen order: a to-one
    relation's value becomes its target's row (or None), a collection's a list of rows."""
    roots: dict[Hashable, Row] = {}
    for values in rows:
        key = root.key(values)
        assert key is not None
        row = roots.get(key)
        if row is None:
            row = roots[key] = root.read(values)
            _merge(row, children, values, fresh=True)
        else:
            _merge(row, children, values, fresh=False)
    result = list(roots.values())
    _to_lists(result, children)
    return result


def _merge(row: Row, children: Sequence[NodeReader], values: Sequence[Any], *, fresh: bool) -> None:
    for child in children:
        name = child.name
        if child.is_collection:
            if fresh:
                row[name] = {}
            key = child.entity.key(values)
            if key is None:
                continue
            items: dict[Hashable, Row] = row[name]
            item = items.get(key)
            if item is None:
                item = items[key] = child.entity.read(values)
                _merge(item, child.children, values, fresh=True)
            else:
                _merge(item, child.children, values, fresh=False)
        elif fresh:
            # A to-one target is the same on every joined row of its parent.
            data = None if child.entity.key(values) is None else child.entity.read(values)
            row[name] = data
            if data is not None:
                _merge(data, child.children, values, fresh=True)
        elif row[name] is not None:
            _merge(row[name], child.children, values, fresh=False)


def _to_lists(rows: Sequence[Row], children: Sequence[NodeReader]) -> None:
    for row in rows:
        for child in children:
            value = row[child.prop.name]
            if child.prop.is_collection:
                items = list(value.values())
                row[child.prop.name] = items
                _to_lists(items, child.children)
            elif value is not None:
                _to_lists([value], child.children)
