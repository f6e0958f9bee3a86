"""Render query trees and change batches as SQLAlchemy Core statements.

To-one relations in filters and ``order_by`` become LEFT OUTER JOINs; to-many relations become
``EXISTS`` subqueries, so a filter never multiplies root rows (pagination stays on roots).
Every value is a bound parameter, converted by the driver's :class:`ValueConverter`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.errors import ValidationError
from orm.core.metadata.model import (
    ColumnInfo,
    EntityMetadata,
    RelationKind,
)
from orm.core.query.ast import (
    And,
    Comparison,
    Condition,
    CountQuery,
    LockMode,
    Not,
    Op,
    Or,
    OrderItem,
    PivotJoin,
    RelationCondition,
    SelectQuery,
)
from orm.core.query.filter import is_expression
from orm.query_builder.links import (
    pivot_columns,
    pivot_links,
    pivot_match,
    properties_reader,
    relation_link,
    select_properties,
)
from orm.query_builder.patterns import check_like_pattern, check_regex_pattern
from orm.query_builder.render_writes import WriteRenderer
from orm.query_builder.scope import Scope as Scope  # re-exported: drivers render with it

Key = tuple[Any, ...]
_COMPARISONS: dict[Op, Callable[[Any, Any], Any]] = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
}
# (statement, how to turn a result row into {property: value})
RowReader = Callable[[Sequence[Any]], dict[str, Any]]


class SqlRenderer(WriteRenderer):
    """Statements for query trees (reads, counts, conditions) and, from
    :class:`~orm.query_builder.render_writes.WriteRenderer`, for change batches."""

    def alias(self, meta: EntityMetadata) -> sa.FromClause:
        """``meta``'s table under a fresh alias (``e0``, ``e1``, ...)."""
        return self.tables[meta.table].alias(self.next_alias("e"))

    def root_scope(self, meta: EntityMetadata) -> Scope:
        """The root of a new top-level statement: its aliases are numbered from zero."""
        self.restart_aliases()
        return Scope(self, meta, self.alias(meta))

    # -- reading ---------------------------------------------------------------------------

    def select(self, query: SelectQuery) -> tuple[sa.Select[Any], RowReader]:
        root = self.root_scope(query.entity)
        columns: list[Any] = []
        readers = select_properties(root, query.fields or query.entity.persistent, columns)
        owner_slice: tuple[int, int] | None = None
        where: list[ColumnElement[bool]] = []
        pivot_columns: list[ColumnInfo] = []
        if query.pivot is not None:
            pivot, owner_cols, pivot_columns = self._pivot_join(root, query.pivot, where)
            owner_slice = (len(columns), len(columns) + len(owner_cols))
            columns.extend(pivot.c[name].label(f"__owner_{i}") for i, name in enumerate(owner_cols))
        if query.where is not None:
            where.append(self.condition(root, query.where))
        order = [term for item in query.order_by for term in self.order_item_terms(root, item)]
        statement = sa.select(*columns).select_from(root.from_clause)
        if where:
            statement = statement.where(*where)
        if order:
            statement = statement.order_by(*order)
        if query.limit is not None:
            statement = statement.limit(query.limit)
        if query.offset:
            statement = statement.offset(query.offset)
        if query.lock_mode is not None:
            statement = statement.with_for_update(
                read=query.lock_mode is LockMode.PESSIMISTIC_READ,
                nowait=query.lock_nowait,
                skip_locked=query.lock_skip_locked,
                of=root.alias,
            )
        from_db = self.values.from_db
        read_row = properties_reader(readers, self.values)

        def read(row: Sequence[Any]) -> dict[str, Any]:
            result = read_row(row)
            if owner_slice is not None:
                values = row[owner_slice[0] : owner_slice[1]]
                result["__owner__"] = tuple(
                    from_db(c, v) for c, v in zip(pivot_columns, values, strict=True)
                )
            return result

        return statement, read

    def _pivot_join(
        self, root: Scope, pivot_join: PivotJoin, where: list[ColumnElement[bool]]
    ) -> tuple[sa.FromClause, list[str], list[ColumnInfo]]:
        prop = pivot_join.prop
        pivot_table, owner_cols, target_cols = pivot_columns(prop)
        pivot = self.tables[pivot_table].alias("p")
        root.from_clause = root.from_clause.join(pivot, pivot_match(pivot, target_cols, root))
        owner_columns = prop.entity.pk_columns
        where.append(
            self._keys_in([pivot.c[n] for n in owner_cols], owner_columns, pivot_join.owner_keys)
        )
        return pivot, owner_cols, owner_columns

    def count(self, query: CountQuery) -> tuple[sa.Select[Any], int]:
        """A count statement and how many leading key columns each row has (0: ungrouped)."""
        root = self.root_scope(query.entity)
        where: list[ColumnElement[bool]] = []
        group: list[Any] = []
        if query.pivot is not None:
            pivot, owner_cols, _ = self._pivot_join(root, query.pivot, where)
            group = [pivot.c[name] for name in owner_cols]
        elif query.group_by is not None:
            group = [root.column(c) for c in query.group_by.columns]
        if query.where is not None:
            where.append(self.condition(root, query.where))
        statement = sa.select(*group, sa.func.count()).select_from(root.from_clause)
        if where:
            statement = statement.where(*where)
        if group:
            statement = statement.group_by(*group)
        return statement, len(group)

    def order_item_terms(self, root: Scope, item: OrderItem) -> list[Any]:
        """ORDER BY terms for ``item``, a path from ``root`` (its to-one hops joined)."""
        *hops, last = item.path
        scope = root.join(hops) if hops else root
        return [t for c in last.columns for t in self.order_terms(scope.column(c), item)]

    def order_terms(self, expression: ColumnElement[Any], item: OrderItem) -> list[Any]:
        """``expression`` sorted as ``item`` says (direction, NULLS FIRST/LAST)."""
        term = expression.desc() if item.descending else expression.asc()
        if item.nulls_first is True:
            term = term.nulls_first()
        elif item.nulls_first is False:
            term = term.nulls_last()
        return [term]

    # -- conditions ------------------------------------------------------------------------

    def condition(self, scope: Scope, node: Condition) -> ColumnElement[bool]:
        if isinstance(node, Comparison):
            return self.comparison(scope, node)
        if isinstance(node, And):
            return sa.and_(*(self.condition(scope, item) for item in node.items))
        if isinstance(node, Or):
            if not node.items:
                return sa.false()
            return sa.or_(*(self.condition(scope, item) for item in node.items))
        if isinstance(node, Not):
            return sa.not_(self.condition(scope, node.item))
        return self._relation(scope, node)

    def _relation(self, scope: Scope, node: RelationCondition) -> ColumnElement[bool]:
        prop = node.prop
        target = prop.target
        assert target is not None
        if prop.is_to_one:
            return self.condition(scope.join([prop]), node.condition)
        inner = Scope(self, target, self.alias(target))
        if prop.relation is RelationKind.ONE_TO_MANY:
            link = relation_link(scope, inner, prop)
        else:
            pivot_table, _, _ = pivot_columns(prop)
            pivot = self.tables[pivot_table].alias(self.next_alias("p"))
            link, to_target = pivot_links(pivot, prop, scope, inner)
            inner.from_clause = pivot.join(inner.alias, to_target)
        criterion = self.condition(inner, node.condition)
        subquery = sa.select(sa.literal(1)).select_from(inner.from_clause).where(link, criterion)
        return subquery.exists()

    def comparison(self, scope: Scope, node: Comparison) -> ColumnElement[bool]:
        prop, op, value = node.prop, node.op, node.value
        columns = prop.columns
        exprs = [scope.column(c) for c in columns]
        if is_expression(value):
            return self.expression_comparison(exprs, op, value.__orm_expression__(self))
        if op is Op.EXISTS:
            present = sa.and_(*(e.is_not(None) for e in exprs))
            return present if value else sa.not_(present)
        if prop.relation is not None:
            return self._key_comparison(exprs, columns, op, value)
        column, expr = columns[0], exprs[0]
        if op is Op.EQ:
            return expr.is_(None) if value is None else expr == self.bind(column, value)
        if op is Op.NE:
            if value is None:
                return expr.is_not(None)
            return sa.or_(expr != self.bind(column, value), expr.is_(None))
        # Each item bound with the column's type, as $eq binds its value (PostgreSQL would
        # otherwise cast every item to the type of the first: [0, 2.4] as integers).
        if op is Op.IN:
            return expr.in_([self.bind(column, v) for v in value])
        if op is Op.NIN:
            return sa.or_(expr.not_in([self.bind(column, v) for v in value]), expr.is_(None))
        compare = _COMPARISONS.get(op)
        if compare is not None:
            result: ColumnElement[bool] = compare(expr, self.bind(column, value))
            return result
        if op in (Op.LIKE, Op.ILIKE, Op.RE):
            self.check_pattern(node)
        if op is Op.LIKE:
            return self.like(expr, value)
        if op is Op.ILIKE:
            return self.ilike(expr, value)
        if op is Op.RE:
            return expr.regexp_match(value)
        if op is Op.CONTAINS:
            return self.json_contains(expr, column, value)
        raise AssertionError(f"unrendered operator {op}")

    def expression_comparison(
        self, exprs: Sequence[ColumnElement[Any]], op: Op, right: Any
    ) -> ColumnElement[bool]:
        """``column <op> right`` where ``right`` is a query-builder expression rendered to
        SQLAlchemy: a one-column SELECT (a subquery) or a column expression."""
        if len(exprs) != 1:
            raise ValidationError(
                "a subquery or column reference compares with one column; this relation has a "
                "composite key"
            )
        left = exprs[0]
        if op in (Op.IN, Op.NIN):
            if not isinstance(right, sa.Select):
                raise ValidationError(f"{op.value} takes a list or a query builder (a subquery)")
            found = left.in_(right)
            return found if op is Op.IN else sa.or_(sa.not_(found), left.is_(None))
        if isinstance(right, sa.Select):
            right = right.scalar_subquery()
        if op is Op.EQ:
            equal: ColumnElement[bool] = left == right
            return equal
        if op is Op.NE:
            return sa.or_(left != right, left.is_(None))
        result: ColumnElement[bool] = _COMPARISONS[op](left, right)
        return result

    def check_pattern(self, node: Comparison) -> None:
        """A ``$like``/``$ilike``/``$re`` pattern every database reads the same way (see
        :mod:`orm.query_builder.patterns`), or ValidationError before any SQL is sent."""
        where = f"{node.prop.entity.class_name}.{node.prop.name} {node.op.value}"
        if node.op is Op.RE:
            check_regex_pattern(node.value, where=where)
        else:
            check_like_pattern(node.value, where=where)

    def like(self, expr: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        """``\\`` escapes the next character (the default on PostgreSQL and MySQL)."""
        return expr.like(pattern)

    def ilike(self, expr: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        return expr.ilike(pattern)

    def json_contains(
        self, expr: ColumnElement[Any], column: ColumnInfo, value: Any
    ) -> ColumnElement[bool]:
        raise NotImplementedError("the driver must render $contains")

    def _key_comparison(
        self, exprs: list[ColumnElement[Any]], columns: list[ColumnInfo], op: Op, value: Any
    ) -> ColumnElement[bool]:
        if op in (Op.EQ, Op.NE):
            if value is None:
                null = sa.and_(*(e.is_(None) for e in exprs))
                return null if op is Op.EQ else sa.not_(null)
            equal = self._key_equals(exprs, columns, value)
            if op is Op.EQ:
                return equal
            return sa.or_(sa.not_(equal), sa.and_(*(e.is_(None) for e in exprs)))
        if op in (Op.IN, Op.NIN):
            found = self._keys_in(exprs, columns, value)
            if op is Op.IN:
                return found
            return sa.or_(sa.not_(found), sa.and_(*(e.is_(None) for e in exprs)))
        raise AssertionError(f"operator {op} on a relation")
