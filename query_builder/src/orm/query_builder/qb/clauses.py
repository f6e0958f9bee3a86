"""The chainable description of one statement: what to select, join, filter, order and write.

:class:`QueryClauses` holds the :class:`~orm.query_builder.qb.state.QueryState` of a
:class:`~orm.query_builder.QueryBuilder` (``qb.state``) and the methods that set it. Each method
checks its arguments as it is called (syntax of the strings, aliases, join paths, directions);
names in strings are resolved against the metadata only when the statement is rendered
(:mod:`orm.query_builder.qb.build`). Rendering and running the statement are
:class:`~orm.query_builder.qb.builder.QueryBuilder`'s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata
from orm.core.query.limits import check_hops
from orm.core.query.options import page_bound
from orm.query_builder.qb.constructs import SubqueryColumn
from orm.query_builder.qb.expressions import parse_expression, parse_item
from orm.query_builder.qb.joins import join_spec
from orm.query_builder.qb.raw import Raw
from orm.query_builder.qb.scope import check_alias
from orm.query_builder.qb.state import QueryState, QueryType

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager
    from orm.query_builder.driver import SqlDriver

T = TypeVar("T")
_DIRECTIONS = {"asc": False, "ascending": False, "desc": True, "descending": True}


class QueryClauses(Generic[T]):
    """The clauses of one statement for entity ``T`` under the alias ``alias``; the methods
    return the builder, so calls chain."""

    def __init__(
        self, em: EntityManager, driver: SqlDriver, meta: EntityMetadata, alias: str
    ) -> None:
        check_alias(alias)
        self._em = em
        # Written by the methods below, read by the statement builders when it renders.
        self.state = QueryState(driver, meta, alias)

    @property
    def alias(self) -> str:
        return self.state.alias

    @property
    def type(self) -> QueryType:
        return self.state.type

    def clone(self) -> Self:
        """An independent copy (same EntityManager) to change without touching this one."""
        other = copy.copy(self)
        other.state = self.state.copy()
        return other

    # -- SELECT ----------------------------------------------------------------------------

    def select(self, *fields: Any, distinct: bool = False) -> Self:
        """Choose the columns: ``"b.title"``, ``"b.author"`` (the key), ``"a.name"``, ``"*"``,
        ``"a.*"``, ``"count(b.id) as n"`` (count/sum/avg/min/max), ``raw("... as x")``,
        ``subquery_builder.as_("x")``. A single list also works: ``select(["b.id", ...])``."""
        self._set_type("select")
        self.state.select = []
        self.add_select(*fields)
        if distinct:
            self.state.distinct = True
        return self

    def add_select(self, *fields: Any) -> Self:
        if len(fields) == 1 and isinstance(fields[0], (list, tuple)):
            fields = tuple(fields[0])
        if not fields:
            raise ValidationError("select() needs at least one column, e.g. select('*')")
        for spec in fields:
            if isinstance(spec, str):
                parse_item(spec, where="select")  # syntax errors now; names when it runs
            elif not isinstance(spec, (Raw, SubqueryColumn)):
                raise ValidationError(
                    f"select() takes property paths, aggregates, raw() or subquery.as_(), got "
                    f"{spec!r}"
                )
            self.state.select.append(spec)
        return self

    def distinct(self) -> Self:
        """SELECT DISTINCT."""
        self.state.distinct = True
        return self

    def count(self, field: str | None = None, *, distinct: bool = False) -> Self:
        """Make this a count query: ``execute("get")`` returns ``{"count": n}``. Without a
        field it counts the distinct root entities the filter matches (as get_count())."""
        self._set_type("count")
        if field is not None:
            parse_expression(field, where="count")
        self.state.count_field = field
        self.state.count_distinct = distinct
        return self

    # -- joins -----------------------------------------------------------------------------

    def join(self, path: str, alias: str, condition: Any = None) -> Self:
        """INNER JOIN a relation of an alias: ``join("b.author", "a")``, ``join("a.books",
        "b")``, ``join("b.tags", "t")`` (through the pivot table). ``condition`` (a filter
        dict on the joined alias, or raw()) is added to the ON clause."""
        return self._join(path, alias, condition, left=False, fetch=False)

    def inner_join(self, path: str, alias: str, condition: Any = None) -> Self:
        return self.join(path, alias, condition)

    def left_join(self, path: str, alias: str, condition: Any = None) -> Self:
        """LEFT OUTER JOIN; see :meth:`join`."""
        return self._join(path, alias, condition, left=True, fetch=False)

    def join_and_select(self, path: str, alias: str, condition: Any = None) -> Self:
        """INNER JOIN and load the joined entities into their references and collections
        (``get_result_list()``); only roots with a match are returned."""
        return self._join(path, alias, condition, left=False, fetch=True)

    def left_join_and_select(self, path: str, alias: str, condition: Any = None) -> Self:
        """LEFT JOIN and load the joined entities into their references and collections;
        roots without a match get None or an empty collection. A ``condition`` on a to-many
        join fills the collection with the matching items only."""
        return self._join(path, alias, condition, left=True, fetch=True)

    def _join(self, path: str, alias: str, condition: Any, *, left: bool, fetch: bool) -> Self:
        join = join_spec(self, path, alias, condition, left=left, fetch=fetch)
        assert join.prop.target is not None
        self.state.aliases[alias] = join.prop.target
        if fetch:
            self.state.fetched.add(alias)
        self.state.joins.append(join)
        return self

    # -- WHERE / HAVING --------------------------------------------------------------------

    def where(self, condition: Any) -> Self:
        """Replace the condition: a filter dict (keys may be ``'<alias>.<property>'``),
        ``raw("...", params)``, ``exists(subquery)`` / ``not_exists(subquery)``, a primary key
        or an entity."""
        self.state.where = [("and", _condition(condition, "where"))]
        return self

    def and_where(self, condition: Any) -> Self:
        self.state.where.append(("and", _condition(condition, "and_where")))
        return self

    def or_where(self, condition: Any) -> Self:
        """``(everything so far) OR condition``."""
        self.state.where.append(("or", _condition(condition, "or_where")))
        return self

    def group_by(self, *fields: str | Raw) -> Self:
        """GROUP BY property paths (a relation groups by its key), select labels or raw()."""
        if len(fields) == 1 and isinstance(fields[0], (list, tuple)):
            fields = tuple(fields[0])
        for spec in fields:
            _check_key(spec, "group_by")
        self.state.group_by = list(fields)
        return self

    def having(self, condition: Any) -> Self:
        """HAVING: ``{"count(b.id)": {"$gt": 1}}``, ``{"n": {"$gte": 2}}`` (a select label),
        property filters as in where(), or raw()."""
        self.state.having = [("and", _condition(condition, "having"))]
        return self

    def and_having(self, condition: Any) -> Self:
        self.state.having.append(("and", _condition(condition, "and_having")))
        return self

    def or_having(self, condition: Any) -> Self:
        self.state.having.append(("or", _condition(condition, "or_having")))
        return self

    # -- ORDER BY / LIMIT ------------------------------------------------------------------

    def order_by(self, *orders: Mapping[Any, Any]) -> Self:
        """Replace the order: ``{"b.title": "asc", "a.name": "desc nulls last"}``; keys are
        paths (of any alias), select labels, aggregates, nested to-one dicts
        (``{"author": {"name": "asc"}}``) or raw(); directions ``asc``/``desc`` (or 1/-1),
        optionally followed by ``nulls first``/``nulls last``."""
        self.state.order_by = []
        for order in orders:
            self.add_order_by(order)
        return self

    def add_order_by(self, order: Mapping[Any, Any]) -> Self:
        if not isinstance(order, Mapping):
            raise ValidationError(
                f"order_by() takes dicts such as {{'b.title': 'asc'}}, got {order!r}"
            )
        for key, direction in order.items():
            self._add_order(key, direction, 0)
        return self

    def _add_order(self, key: Any, direction: Any, hops: int) -> None:
        if isinstance(direction, Mapping):
            if not isinstance(key, str):
                raise ValidationError(f"order_by: nested orders need a relation name, got {key!r}")
            check_hops(hops + 1, f"order_by {key!r}", "an order")
            for inner, inner_direction in direction.items():
                if not isinstance(inner, str):
                    raise ValidationError(f"order_by: expected a property name, got {inner!r}")
                self._add_order(f"{key}.{inner}", inner_direction, hops + 1)
            return
        _check_key(key, "order_by")
        self.state.order_by.append((key, *_direction(key, direction)))

    def limit(self, limit: int | None) -> Self:
        """At most ``limit`` rows: None or an int from 0 to 2**63 - 1."""
        self.state.limit = page_bound("limit", limit)
        return self

    def offset(self, offset: int | None) -> Self:
        """Skip ``offset`` rows: None or an int from 0 to 2**63 - 1."""
        self.state.offset = page_bound("offset", offset)
        return self

    # -- INSERT / UPDATE / DELETE / TRUNCATE -----------------------------------------------

    def insert(self, data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Self:
        """INSERT one row or many (one statement). Keys are property names; relations take
        entities or keys; defaults of the entity apply to missing properties. Bypasses the unit
        of work: no entity is created or tracked."""
        self._set_type("insert")
        rows = [data] if isinstance(data, Mapping) else list(data)
        for row in rows:
            if not isinstance(row, Mapping):
                raise ValidationError(f"insert() takes dicts of property values, got {row!r}")
        self.state.rows = rows
        return self

    def update(self, data: Mapping[str, Any]) -> Self:
        """UPDATE the rows matching where() with ``{property: value}`` (values may be
        ``raw("age + :n", {"n": 1})``). Bypasses the unit of work: loaded entities keep their
        old values until refreshed."""
        if not isinstance(data, Mapping) or not data:
            raise ValidationError(f"update() takes a non-empty dict of property values: {data!r}")
        self._set_type("update")
        self.state.values = dict(data)
        return self

    def delete(self, condition: Any = None) -> Self:
        """DELETE the rows matching where() (or ``condition``). Bypasses the unit of work: no
        cascade, and loaded entities stay in the identity map."""
        self._set_type("delete")
        if condition is not None:
            self.where(condition)
        return self

    def truncate(self) -> Self:
        """Remove every row of the table (TRUNCATE; DELETE on SQLite)."""
        self._set_type("truncate")
        return self

    def _set_type(self, kind: QueryType) -> None:
        if self.state.type != "select" and self.state.type != kind:
            raise ValidationError(
                f"this query builder is already a {self.state.type} query; create another one for "
                f"a {kind}"
            )
        self.state.type = kind


# -- helpers ---------------------------------------------------------------------------------


def _check_key(spec: Any, where: str) -> None:
    if isinstance(spec, Raw):
        return
    if not isinstance(spec, str):
        raise ValidationError(f"{where}: expected a property path or raw(), got {spec!r}")
    parse_expression(spec, where=where)


def _condition(condition: Any, where: str) -> Any:
    if condition is None:
        raise ValidationError(f"{where}() needs a condition; to drop the filter use where({{}})")
    if isinstance(condition, str):
        raise ValidationError(
            f"{where}({condition!r}): a str is never SQL here; pass a filter dict such as "
            f"{{'b.title': ...}}, raw('...', params) for hand-written SQL, or exists(subquery)"
        )
    return condition


def _direction(key: Any, direction: Any) -> tuple[bool, bool | None]:
    if isinstance(direction, int) and not isinstance(direction, bool) and direction in (1, -1):
        return direction == -1, None
    if isinstance(direction, str):
        text = " ".join(direction.lower().split())
        nulls_first: bool | None = None
        if " nulls " in f"{text} ":
            text, _, nulls = text.partition(" nulls ")
            if nulls not in ("first", "last"):
                raise ValidationError(
                    f"order_by {key!r}: write 'nulls first' or 'nulls last', got {direction!r}"
                )
            nulls_first = nulls == "first"
        if text in _DIRECTIONS:
            return _DIRECTIONS[text], nulls_first
    raise ValidationError(
        f"order_by {key!r}: the direction is 'asc' or 'desc' (or 1/-1), optionally followed by "
        f"'nulls first'/'nulls last'; got {direction!r}"
    )
