"""One complete rendering of a builder, and a builder rendered inside another.

:class:`Build` adds the select list (paths, ``*``, aggregates, ``raw()`` and subquery columns,
each a labelled :class:`~orm.query_builder.qb.readers.Column`), GROUP BY, ORDER BY and the
statement tail to the layers below it (:mod:`.scope`, :mod:`.conditions`, :mod:`.joins`).
:func:`subquery` renders a builder used as a filter value, in ``exists()`` or as a selected
column: a nested :class:`Build` whose ``parent`` is the enclosing one, so ``ref("a.id")`` can
reach the enclosing aliases (correlation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.errors import ValidationError
from orm.query_builder.qb.constructs import SubqueryColumn
from orm.query_builder.qb.expressions import Aggregate, Star, parse_item
from orm.query_builder.qb.joins import JoinsBuild
from orm.query_builder.qb.raw import Raw
from orm.query_builder.qb.readers import Column, Reader, first, property_reader, read_count
from orm.query_builder.qb.scope import current_build
from orm.query_builder.render import SqlRenderer

if TYPE_CHECKING:
    from orm.query_builder.qb.builder import QueryBuilder


class Build(JoinsBuild):
    """One rendering of one builder (or of a subquery builder inside another)."""

    def nested(self, query: QueryBuilder[Any], mode: str) -> tuple[sa.Select[Any], Reader]:
        return subquery(query, self.renderer, mode)

    # -- select list -----------------------------------------------------------------------

    def star_columns(self, alias: str | None, *, prefix: str = "") -> list[Column]:
        name = alias or self.qb.state.alias
        scope = self.scopes.get(name)
        if scope is None:
            raise ValidationError(f"select: unknown alias {name!r} in '{name}.*'")
        from_db = self.renderer.values.from_db
        result: list[Column] = []
        for prop in scope.meta.persistent:
            elements = [scope.column(c) for c in prop.columns]
            result.append(Column(prefix + prop.name, elements, property_reader(prop, from_db)))
        return result

    def select_columns(self) -> list[Column]:
        """The builder's select list (``*`` when none) plus the ``join_and_select`` aliases."""
        qb = self.qb
        columns: list[Column] = []
        specs = qb.state.select or ["*"]
        for spec in specs:
            columns.extend(self._select_item(spec))
        for join in qb.state.joins:
            if join.fetch:
                columns.extend(self.star_columns(join.alias, prefix=f"{join.alias}__"))
        for column in columns:
            if column.label in self.labels:
                raise ValidationError(
                    f"select: two columns are named {column.label!r}; name them apart with "
                    f"'... as <name>'"
                )
            if column.expression is None and len(column.elements) == 1:
                column.expression = column.elements[0]
            self.labels[column.label] = column
        return columns

    def _select_item(self, spec: Any) -> list[Column]:
        where = "select"
        if isinstance(spec, Raw):
            fragment, label = spec.split_label()
            if label is None:
                raise ValidationError(
                    f"select: name the raw column: raw('{spec.sql} as <name>') or "
                    f"raw(...).as_('<name>')"
                )
            expression = fragment.expression(self.renderer.values)
            return [Column(label, [expression], first, expression)]
        if isinstance(spec, SubqueryColumn):
            select, reader = self.nested(spec.query, "scalar")
            expression = select.scalar_subquery()
            return [Column(spec.label, [expression], reader, expression)]
        item = parse_item(spec, where=where)
        parsed = item.expression
        if isinstance(parsed, Star):
            if item.label is not None:
                raise ValidationError(f"select: {spec!r}: '*' cannot be named with 'as'")
            return self.star_columns(parsed.alias)
        if isinstance(parsed, Aggregate):
            expression, reader = self.aggregate(parsed, where=where)
            return [Column(item.label or parsed.function, [expression], reader)]
        elements, read = self.path_column(parsed, where=where)
        return [Column(item.label or parsed.names[-1], elements, read)]

    def labelled(self, columns: Sequence[Column]) -> list[ColumnElement[Any]]:
        result: list[ColumnElement[Any]] = []
        for column in columns:
            if len(column.elements) == 1:
                column.sql = column.elements[0].label(column.label)
                result.append(column.sql)
            else:
                result.extend(
                    element.label(f"{column.label}__{i}")
                    for i, element in enumerate(column.elements)
                )
        return result

    # -- grouping and ordering -------------------------------------------------------------

    def group_terms(self) -> list[ColumnElement[Any]]:
        terms: list[ColumnElement[Any]] = []
        for spec in self.qb.state.group_by:
            terms.extend(self.expression(spec, where="group_by"))
        return terms

    def order_terms(self, *, aggregate: bool = False) -> list[Any]:
        """ORDER BY terms; with ``aggregate`` each key is min()/max() (for a GROUP BY root)."""
        terms: list[Any] = []
        for key, descending, nulls_first in self.qb.state.order_by:
            if not aggregate and nulls_first is None and isinstance(key, str):
                column = self.labels.get(key)
                if column is not None and column.sql is not None:
                    # The selected column's own label: ORDER BY <its name>.
                    terms.append(column.sql.desc() if descending else column.sql.asc())
                    continue
            for expression in self.expression(key, where="order_by"):
                if aggregate:
                    expression = (sa.func.max if descending else sa.func.min)(expression)
                terms.extend(self._order_term(expression, descending, nulls_first))
        return terms

    def _order_term(
        self, expression: ColumnElement[Any], descending: bool, nulls_first: bool | None
    ) -> list[Any]:
        term = expression.desc() if descending else expression.asc()
        if nulls_first is None:
            return [term]
        if not self.mysql:
            return [term.nulls_first() if nulls_first else term.nulls_last()]
        # MySQL/MariaDB have no NULLS FIRST/LAST: sort on "is null" first.
        is_null = sa.case((expression.is_(None), 1), else_=0)
        return [is_null.desc() if nulls_first else is_null.asc(), term]

    def apply_grouping(self, statement: sa.Select[Any]) -> sa.Select[Any]:
        """GROUP BY and HAVING of the builder."""
        group = self.group_terms()
        if group:
            statement = statement.group_by(*group)
        having = self.having_clause()
        if having is not None:
            statement = statement.having(having)
        return statement

    def apply_tail(
        self,
        statement: sa.Select[Any],
        *,
        order: bool = True,
        limit: bool = True,
    ) -> sa.Select[Any]:
        """WHERE, GROUP BY, HAVING, ORDER BY, LIMIT/OFFSET and DISTINCT of the builder.

        FROM is set by the caller after this, because rendering may add joins."""
        qb = self.qb
        condition = self.where_clause()
        if condition is not None:
            statement = statement.where(condition)
        statement = self.apply_grouping(statement)
        if order:
            terms = self.order_terms()
            if terms:
                statement = statement.order_by(*terms)
        if limit:
            if qb.state.limit is not None:
                statement = statement.limit(qb.state.limit)
            if qb.state.offset:
                statement = statement.offset(qb.state.offset)
        if qb.state.distinct:
            statement = statement.distinct()
        return statement


def subquery(
    qb: QueryBuilder[Any], renderer: SqlRenderer, mode: str
) -> tuple[sa.Select[Any], Reader]:
    """A builder inside another statement: ``column`` (one column, for ``$in``/comparisons),
    ``scalar`` (one column, selected with ``as_()``), or ``exists``."""
    if qb.state.type not in ("select", "count"):
        raise ValidationError(
            f"a {qb.state.type} query builder cannot be a subquery; build a select() instead"
        )
    parent = current_build()
    if parent is not None and parent.qb.state.driver is not qb.state.driver:
        raise ValidationError("a subquery must come from the same ORM as the query using it")
    build = Build(qb, renderer, parent)
    with build.active():
        build.attach_joins()
        reader: Reader = first
        if mode == "exists":
            statement = sa.select(sa.literal(1))
        else:
            if qb.state.type == "count":
                element: Any = sa.func.count()
                reader = read_count
                if qb.state.count_field is not None:
                    column = build.expression(qb.state.count_field, where="count")[0]
                    element = sa.func.count(
                        sa.distinct(column) if qb.state.count_distinct else column
                    )
                elif build.multiplies_roots and len(build.meta.pk_columns) == 1:
                    element = sa.func.count(
                        sa.distinct(build.root.column(build.meta.pk_columns[0]))
                    )
                elements = [element.label("count")]
            elif qb.state.select:
                columns = build.select_columns()
                elements = build.labelled(columns)
                if len(elements) != 1:
                    raise ValidationError(
                        f"a subquery used as a value selects one column; "
                        f"{qb.state.alias!r} selects {len(elements)}"
                    )
                reader = columns[0].read
            else:
                pk = build.meta.pk_columns
                if len(pk) != 1:
                    raise ValidationError(
                        f"{build.meta.class_name} has a composite key: select() the one column "
                        f"the subquery should return"
                    )
                elements = [build.root.column(pk[0])]
                from_db = renderer.values.from_db
                key_column = pk[0]
                reader = lambda values: from_db(key_column, values[0])  # noqa: E731
            statement = sa.select(*elements)
        statement = build.apply_tail(
            statement,
            order=mode != "exists" and qb.state.type != "count",
            limit=qb.state.type != "count",
        )
        statement = statement.select_from(build.root.from_clause)
        wrap = mode == "column" and (
            qb.state.limit is not None
            or bool(qb.state.offset)
            or (build.mysql and build.dml_table == build.meta.table)
        )
        if wrap:
            # MySQL refuses LIMIT inside IN (...) and subqueries reading the table an
            # UPDATE/DELETE writes; a derived table is fine for both, and for every database.
            derived = statement.subquery(build.next_alias("e"))
            statement = sa.select(*derived.c)
    return statement, reader
