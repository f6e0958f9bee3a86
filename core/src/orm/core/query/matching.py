"""The filter language evaluated against entities in memory, as the databases evaluate it.

``matches(entity, condition)`` tells whether a parsed filter (:mod:`orm.core.query.ast`)
holds for an entity's current, unflushed values; the finders that see the unit of work
(:mod:`orm.core.finders`) use it for new and changed entities.

NULL follows SQL's three-valued logic, as the drivers render each operator: a comparison
with NULL on either side is UNKNOWN (so is ``x IN (...)`` for a NULL ``x``), except
``$eq None`` / ``$exists`` (which test for NULL) and ``$ne`` / ``$nin`` (which also match NULL,
as documented for the filter language). ``$and``, ``$or`` and ``$not`` combine TRUE, FALSE and
UNKNOWN as SQL does, and an entity matches when the whole filter is TRUE: ``{"$not": {"age":
{"$gt": 3}}}`` matches neither an age of 5 nor a NULL age. A to-one relation holding None is
read as a row of NULLs (SQL's LEFT JOIN): ``{"author": {"name": None}}`` matches it. An unset
property of a new entity is NULL.

Values compare as Python values: text exactly and in code-point order, ``$ilike`` on the
``lower()`` of both sides, ``$re`` with Python's ``re`` (``.`` matching a newline too).
Filters through to-many relations, JSON values (``$eq`` with a JSON value, ``$contains``) and
query-builder expressions are :class:`NotSupportedError`; a property an entity has not loaded
(a reference, ``fields=``) is :class:`NotLoadedError`.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from orm.core.errors import NotSupportedError
from orm.core.keys import entity_key
from orm.core.metadata.entity import missing_attribute
from orm.core.metadata.model import PropertyMetadata, ScalarKind
from orm.core.query.ast import (
    And,
    Comparison,
    Condition,
    Not,
    Op,
    Or,
    OrderItem,
    RelationCondition,
)
from orm.core.query.filter import is_expression
from orm.core.query.patterns import like_as_regex
from orm.core.state import STATE_KEY, Status

T = TypeVar("T")

# TRUE, FALSE, or None for SQL's UNKNOWN.
Truth = bool | None

_MISSING: Any = object()
# The target of a to-one relation that holds None: every property reads as NULL.
_NULL_ROW: Any = object()

_ORDERING = {Op.GT: operator.gt, Op.GTE: operator.ge, Op.LT: operator.lt, Op.LTE: operator.le}


def check_evaluable(condition: Condition | None) -> None:
    """NotSupportedError, before any query, for a part ``condition`` has that cannot be
    evaluated in memory (whatever entities it is later evaluated on)."""
    if condition is None:
        return
    if isinstance(condition, Comparison):
        _check_comparison(condition)
    elif isinstance(condition, (And, Or)):
        for item in condition.items:
            check_evaluable(item)
    elif isinstance(condition, Not):
        check_evaluable(condition.item)
    else:
        _check_relation(condition)
        check_evaluable(condition.condition)


def matches(entity: object, condition: Condition | None) -> bool:
    """Whether ``condition`` is TRUE for ``entity``'s current values (None matches all)."""
    return condition is None or evaluate(entity, condition) is True


def evaluate(entity: object, condition: Condition) -> Truth:
    """``condition`` on ``entity``: True, False, or None (UNKNOWN)."""
    if isinstance(condition, Comparison):
        return _comparison(entity, condition)
    if isinstance(condition, And):
        results = [evaluate(entity, item) for item in condition.items]
        if False in results:
            return False
        return None if None in results else True
    if isinstance(condition, Or):
        results = [evaluate(entity, item) for item in condition.items]
        if True in results:
            return True
        return None if None in results else False
    if isinstance(condition, Not):
        inner = evaluate(entity, condition.item)
        return None if inner is None else not inner
    return _relation(entity, condition)


def _read(entity: object, prop: PropertyMetadata) -> Any:
    """The current value of ``prop`` (None for NULL); NotLoadedError when it was not loaded."""
    if entity is _NULL_ROW:
        return None
    value = entity.__dict__.get(prop.name, _MISSING)
    if value is not _MISSING:
        return value
    state = entity.__dict__.get(STATE_KEY)
    if state is not None and state.status is Status.NEW:
        return None  # never set: the insert writes NULL (or the server's default)
    raise missing_attribute(entity, prop.name)


def _check_relation(node: RelationCondition) -> None:
    prop = node.prop
    if not prop.is_to_one:
        raise NotSupportedError(
            f"{prop.path} is a to-many relation: a filter through it cannot be evaluated in "
            f"memory. Filter on {prop.entity.class_name}'s own properties or to-one relations, "
            f"or use em.find() for the database's answer"
        )


def _relation(entity: object, node: RelationCondition) -> Truth:
    _check_relation(node)
    target = _read(entity, node.prop)
    return evaluate(_NULL_ROW if target is None else target, node.condition)


def _check_comparison(node: Comparison) -> None:
    prop, op, value = node.prop, node.op, node.value
    if is_expression(value):
        raise NotSupportedError(
            f"{prop.path} {op.value}: a query-builder expression is SQL and cannot be evaluated "
            f"in memory; compare with values"
        )
    if op is Op.CONTAINS or (
        prop.kind is ScalarKind.JSON and op in (Op.EQ, Op.NE) and value is not None
    ):
        raise NotSupportedError(
            f"{prop.path} {op.value}: JSON values are compared by each database's own rules, "
            f"which are not evaluated in memory; use $exists (or $eq None) on JSON properties "
            f"here, or em.find() for the database's answer"
        )


def _comparison(entity: object, node: Comparison) -> Truth:
    _check_comparison(node)
    prop, op, value = node.prop, node.op, node.value
    actual = _read(entity, prop)
    if prop.relation is not None and actual is not None:
        # A to-one holds an entity; the filter holds key tuples. A new target has no key yet,
        # which equals no stored key.
        actual = entity_key(actual, prop.target) if prop.target is not None else None
        if actual is None:
            actual = _NO_KEY
    if op is Op.EXISTS:
        return (actual is not None) is value
    if op in (Op.EQ, Op.NE):
        return _equality(actual, value, negate=op is Op.NE)
    if op in (Op.IN, Op.NIN):
        return _membership(actual, value, negate=op is Op.NIN)
    if actual is None or value is None:
        return None
    if op in _ORDERING:
        return _ordered(prop, op, actual, value)
    if op is Op.RE:
        return _regex(value, 0).search(actual) is not None
    if op is Op.LIKE:
        return _regex(_like_pattern(value), 0).match(actual) is not None
    if op is Op.ILIKE:
        return _regex(_like_pattern(value.lower()), 0).match(actual.lower()) is not None
    raise NotSupportedError(f"{prop.path}: the operator {op.value} cannot be evaluated in memory")


class _NoKey:
    """The key of a new, unflushed target: equal to no key."""

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return id(self)


_NO_KEY: Any = _NoKey()


def _equality(actual: Any, value: Any, *, negate: bool) -> Truth:
    if value is None:  # IS NULL / IS NOT NULL
        return (actual is None) is not negate
    if actual is None:  # $ne also matches NULL (``x != v OR x IS NULL``)
        return True if negate else None
    return _equal(actual, value) is not negate


def _membership(actual: Any, values: Any, *, negate: bool) -> Truth:
    items = [item for item in values if item is not None]
    if actual is None:  # $nin also matches NULL; NULL IN (...) is UNKNOWN, () is FALSE
        return True if negate else (None if values else False)
    if any(_equal(actual, item) for item in items):
        return not negate
    if len(items) != len(values):  # a NULL item makes "not found" UNKNOWN
        return None
    return negate


def _equal(actual: Any, value: Any) -> bool:
    # True is not 1 (the value checks keep types apart); 1 equals 1.0 and Decimal("1").
    if isinstance(actual, bool) is not isinstance(value, bool):
        return False
    return bool(actual == value)


def _ordered(prop: PropertyMetadata, op: Op, actual: Any, value: Any) -> bool:
    left = actual.value if isinstance(actual, enum.Enum) else actual
    right = value.value if isinstance(value, enum.Enum) else value
    try:
        return bool(_ORDERING[op](left, right))
    except TypeError:
        raise NotSupportedError(
            f"{prop.path} {op.value}: {left!r} and {right!r} cannot be ordered in memory (e.g. "
            f"a naive and an aware datetime); compare values of the same kind"
        ) from None


@lru_cache(maxsize=256)
def _regex(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags | re.DOTALL)


def _like_pattern(pattern: str) -> str:
    """A LIKE pattern as a regular expression matching the whole text (``match`` anchors the
    start; ``\\Z`` is Python's absolute end)."""
    return like_as_regex(pattern) + r"\Z"


def sort_entities(entities: Sequence[T], order: Sequence[OrderItem]) -> list[T]:
    """``entities`` sorted by ``order`` in Python, stably: NULLs come last in either direction
    unless an item says ``nulls first`` (as in ``em.stream``); ties keep the given order."""
    result = list(entities)
    # One stable sort per item, the last item first, gives the order of the whole tuple.
    for item in reversed(order):
        keyed = [(_order_value(entity, item), entity) for entity in result]
        present = [pair for pair in keyed if pair[0] is not None]
        try:
            present.sort(key=lambda pair: pair[0], reverse=item.descending)
        except TypeError:
            path = ".".join(prop.name for prop in item.path)
            raise NotSupportedError(
                f"order_by {path} of {item.path[0].entity.class_name}: its values cannot be "
                f"ordered in memory (e.g. naive and aware datetimes mixed)"
            ) from None
        nulls = [entity for value, entity in keyed if value is None]
        ordered = [entity for _, entity in present]
        result = nulls + ordered if item.nulls_first else ordered + nulls
    return result


def _order_value(entity: object, item: OrderItem) -> Any:
    current: Any = entity
    for prop in item.path:
        current = _read(current, prop)
        if current is None:
            return None
    last = item.path[-1]
    if last.relation is not None and last.target is not None:
        return entity_key(current, last.target)
    return current.value if isinstance(current, enum.Enum) else current
