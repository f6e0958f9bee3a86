"""The top-level SELECT statements of a builder.

:func:`select_statement` is what ``execute()`` runs (the select list as plain values),
:func:`entity_statement` what ``get_result_list()`` runs (whole rows of the root and the
fetched aliases, paginated on root entities), :func:`count_statement` what ``get_count()`` and
``count()`` run. :func:`root_page` selects the root keys a builder matches, each once: the
page of roots under a to-many join, and the rows an UPDATE/DELETE with joins changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from orm.core.errors import ValidationError
from orm.query_builder.qb.build import Build
from orm.query_builder.qb.expressions import Star, parse_item
from orm.query_builder.qb.joins import EntitySlot
from orm.query_builder.qb.readers import Column
from orm.query_builder.render import SqlRenderer

if TYPE_CHECKING:
    from orm.query_builder.qb.builder import QueryBuilder


def select_statement(
    qb: QueryBuilder[Any], renderer: SqlRenderer
) -> tuple[sa.Select[Any], list[Column]]:
    """The builder's SELECT for ``execute()``: its select list, as plain values."""
    renderer.restart_aliases()
    build = Build(qb, renderer, None)
    with build.active():
        build.attach_joins()
        columns = build.select_columns()
        statement = build.apply_tail(sa.select(*build.labelled(columns)))
        statement = statement.select_from(build.root.from_clause)
    return statement, columns


def entity_statement(
    qb: QueryBuilder[Any], renderer: SqlRenderer
) -> tuple[sa.Select[Any], list[EntitySlot]]:
    """The SELECT for ``get_result_list()``: whole rows of the root and fetched aliases.

    With a to-many join, LIMIT/OFFSET apply to root entities: a subquery picks the page of
    root keys (grouped, ordered by min/max of the order keys) and the outer query loads their
    rows, however many joined rows each one has."""
    for spec in qb.state.select:
        if not (
            isinstance(spec, str) and isinstance(parse_item(spec, where="select").expression, Star)
        ):
            raise ValidationError(
                f"get_result_list() loads whole entities, but select() names {spec!r}; use "
                f"execute() for chosen columns and aggregates"
            )
    renderer.restart_aliases()
    build = Build(qb, renderer, None)
    with build.active():
        build.attach_joins()
        slots = build.entity_slots()
        elements = build.slot_columns(slots)
        paginate = (
            (qb.state.limit is not None or bool(qb.state.offset))
            and build.multiplies_roots
            and not qb.state.group_by
        )
        statement = build.apply_tail(sa.select(*elements), limit=not paginate)
        if paginate:
            keys = root_page(qb, renderer)
            pk = [build.root.column(c) for c in build.meta.pk_columns]
            target: Any = pk[0] if len(pk) == 1 else sa.tuple_(*pk)
            statement = statement.where(target.in_(keys))
        statement = statement.select_from(build.root.from_clause)
    return statement, slots


def root_page(
    qb: QueryBuilder[Any], renderer: SqlRenderer, *, dml_table: str | None = None
) -> sa.Select[Any]:
    """``SELECT key FROM (SELECT root key ... WHERE ... ORDER BY ... LIMIT ...) AS e``: the
    root keys the builder selects, each once. With a to-many join the keys are grouped and
    ordered by min()/max() of the order keys (valid on every database). A derived table,
    because MySQL refuses LIMIT inside IN (...) and subqueries on the table being changed."""
    inner = Build(qb, renderer, None)
    inner.dml_table = dml_table
    with inner.active():
        inner.attach_joins()
        pk = [inner.root.column(c) for c in inner.meta.pk_columns]
        statement = sa.select(*(c.label(f"k{i}") for i, c in enumerate(pk)))
        condition = inner.where_clause()
        if condition is not None:
            statement = statement.where(condition)
        grouped = inner.multiplies_roots
        if grouped:
            statement = statement.group_by(*pk)
        having = inner.having_clause()
        if having is not None:
            statement = statement.having(having)
        paged = qb.state.limit is not None or bool(qb.state.offset)
        if paged:
            terms = inner.order_terms(aggregate=grouped)
            statement = statement.order_by(*terms, *pk)
            if qb.state.limit is not None:
                statement = statement.limit(qb.state.limit)
            if qb.state.offset:
                statement = statement.offset(qb.state.offset)
        statement = statement.select_from(inner.root.from_clause)
        derived = statement.subquery(inner.next_alias("e"))
    return sa.select(*derived.c)


def count_statement(
    qb: QueryBuilder[Any],
    renderer: SqlRenderer,
    *,
    field_name: str | None = None,
    distinct: bool = False,
) -> sa.Select[Any]:
    """``SELECT count(...)``: the number of distinct roots (or groups) the builder matches."""
    renderer.restart_aliases()
    build = Build(qb, renderer, None)
    with build.active():
        build.attach_joins()
        condition = build.where_clause()
        grouped = bool(qb.state.group_by) or bool(qb.state.having)
        if field_name is not None:
            columns = build.expression(field_name, where="count")
            if len(columns) != 1:
                raise ValidationError(f"count({field_name!r}): name a one-column property")
            argument: Any = sa.distinct(columns[0]) if distinct else columns[0]
            statement = sa.select(sa.func.count(argument).label("count"))
        elif grouped or (qb.state.distinct and qb.state.select):
            inner_columns: list[Any]
            if qb.state.select:
                inner_columns = build.labelled(build.select_columns())
            else:
                inner_columns = [sa.literal(1).label("one")]
            inner = sa.select(*inner_columns)
            if condition is not None:
                inner = inner.where(condition)
            inner = build.apply_grouping(inner)
            if qb.state.distinct:
                inner = inner.distinct()
            inner = inner.select_from(build.root.from_clause)
            derived = inner.subquery(build.next_alias("e"))
            return sa.select(sa.func.count().label("count")).select_from(derived)
        elif build.multiplies_roots:
            pk = [build.root.column(c) for c in build.meta.pk_columns]
            if len(pk) == 1:
                statement = sa.select(sa.func.count(sa.distinct(pk[0])).label("count"))
            else:
                inner = sa.select(*pk).distinct()
                if condition is not None:
                    inner = inner.where(condition)
                derived = inner.select_from(build.root.from_clause).subquery(build.next_alias("e"))
                return sa.select(sa.func.count().label("count")).select_from(derived)
        else:
            statement = sa.select(sa.func.count().label("count"))
        if condition is not None:
            statement = statement.where(condition)
        return statement.select_from(build.root.from_clause)
