"""WHERE, HAVING and join conditions of a builder, as SQLAlchemy boolean expressions.

A condition is a filter dict, ``raw()``, ``exists()``/``not_exists()``, a primary key or an
entity. Filter dicts go through the core filter parser and the shared :class:`SqlRenderer`
(keys may start with an alias: ``{"a.name": ...}``); HAVING dicts also take select labels and
aggregates as keys, compared here with bound parameters. ``$and``/``$or``/``$not`` mean the
same in both (:func:`combine`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.errors import ValidationError
from orm.core.query.filter import is_expression, parse_filter
from orm.core.query.limits import OUTERMOST, Nesting, check_finite, check_int
from orm.core.query.prune import PRUNE, mentions_prune
from orm.query_builder.patterns import check_like_pattern
from orm.query_builder.qb.constructs import Exists
from orm.query_builder.qb.expressions import Aggregate, parse_expression
from orm.query_builder.qb.raw import Raw, plain_to_db
from orm.query_builder.qb.scope import BuildBase, QbScope

_VALUE_OPS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$like", "$exists")
_SCALAR_TYPES = (str, int, float, decimal.Decimal, bytes, dt.date, dt.time, uuid.UUID, enum.Enum)

Criterion = ColumnElement[bool] | None
Leaf = Callable[[str, Any, Nesting], Criterion]


def combine(
    node: Mapping[Any, Any],
    leaf: Leaf,
    *,
    where: str,
    prefix: str,
    nesting: Nesting = OUTERMOST,
) -> Criterion:
    """A filter dict's ``$and``/``$or``/``$not`` structure, every other key through ``leaf``;
    ``prefix`` qualifies the dicts in error messages (``"filter "`` for where, ``""`` for
    having). None when nothing is left to filter on. ``nesting`` counts the levels towards
    the filter depth limit (:mod:`orm.core.query.limits`), checked before each descent."""
    parts: list[ColumnElement[bool]] = []
    for key, value in node.items():
        if not isinstance(key, str):
            raise ValidationError(f"{where}: {prefix}keys must be str, got {key!r}")
        if key in ("$and", "$or", "$not") and value is PRUNE:
            continue  # PRUNE drops the condition, as in the core filter language
        if key in ("$and", "$or"):
            if not isinstance(value, (list, tuple)) or not all(
                isinstance(v, Mapping) or v is PRUNE for v in value
            ):
                raise ValidationError(f"{where}: {key} takes a list of {prefix}dicts")
            deeper = nesting.deeper(where)
            inner = [
                c
                for c in (
                    combine(v, leaf, where=where, prefix=prefix, nesting=deeper)
                    for v in value
                    if v is not PRUNE
                )
                if c is not None
            ]
            if inner:
                parts.append(sa.and_(*inner) if key == "$and" else sa.or_(*inner))
            elif key == "$or" and not mentions_prune(value):
                parts.append(sa.false())
        elif key == "$not":
            if not isinstance(value, Mapping):
                raise ValidationError(f"{where}: $not takes a {prefix}dict, got {value!r}")
            inner_condition = combine(
                value, leaf, where=where, prefix=prefix, nesting=nesting.deeper(where)
            )
            if inner_condition is not None:
                parts.append(sa.not_(inner_condition))
        else:
            condition = leaf(key, value, nesting)
            if condition is not None:
                parts.append(condition)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else sa.and_(*parts)


class ConditionsBuild(BuildBase):
    """The conditions of one rendering (see :class:`BuildBase`)."""

    def condition(self, node: Any, scope: QbScope, *, where: str) -> Criterion:
        if isinstance(node, Raw):
            return node.clause(self.renderer.values)  # type: ignore[return-value]
        if isinstance(node, Exists):
            statement, _ = self.nested(node.query, "exists")
            found = statement.exists()
            return sa.not_(found) if node.negated else found
        if isinstance(node, Mapping):
            return self.filter_dict(node, scope, where=where)
        if isinstance(node, str):
            raise ValidationError(
                f"{where}: a str is not a condition (strings are never SQL here); pass a filter "
                f"dict such as {{'title': ...}}, raw('...', params), or exists(subquery)"
            )
        parsed = parse_filter(scope.meta, node)
        return None if parsed is None else self.renderer.condition(scope, parsed)

    def filter_dict(
        self,
        where_dict: Mapping[Any, Any],
        scope: QbScope,
        *,
        where: str,
        nesting: Nesting = OUTERMOST,
    ) -> Criterion:
        def leaf(key: str, value: Any, at: Nesting) -> Criterion:
            if key.startswith("$"):
                raise ValidationError(
                    f"{where}: unknown operator {key!r} at the top of a filter; use $and, $or, "
                    f"$not, a property name, or '<alias>.<property>'"
                )
            return self._filter_key(key, value, scope, where=where, nesting=at)

        return combine(where_dict, leaf, where=where, prefix="filter ", nesting=nesting)

    def _filter_key(
        self, key: str, value: Any, scope: QbScope, *, where: str, nesting: Nesting
    ) -> Criterion:
        names = [part.strip() for part in key.split(".")]
        if names[0] in self.scopes:
            target = self.scopes[names[0]]
            names = names[1:]
            if not names:
                if not isinstance(value, Mapping):
                    raise ValidationError(
                        f"{where}: {key!r} is an alias; give it a filter dict, e.g. "
                        f"{{{key!r}: {{'name': ...}}}}"
                    )
                return self.filter_dict(value, target, where=where, nesting=nesting.deeper(where))
        else:
            target = scope
        nested: Any = value
        for name in reversed(names[1:]):
            nested = {name: nested}
        parsed = parse_filter(target.meta, {names[0]: nested}, nesting=nesting)
        return None if parsed is None else self.renderer.condition(target, parsed)

    def where_clause(self) -> Criterion:
        return self._fold(self.qb.state.where, self._where_part, "where")

    def _where_part(self, node: Any, where: str) -> Criterion:
        return self.condition(node, self.root, where=where)

    def having_clause(self) -> Criterion:
        return self._fold(self.qb.state.having, self._having_part, "having")

    @staticmethod
    def _fold(
        items: Sequence[tuple[str, Any]], render: Callable[[Any, str], Criterion], where: str
    ) -> Criterion:
        result: Criterion = None
        for how, node in items:
            part = render(node, where)
            if part is None:
                continue
            if result is None:
                result = part
            elif how == "or":
                result = sa.or_(result, part)
            else:
                result = sa.and_(result, part)
        return result

    def _having_part(self, node: Any, where: str) -> Criterion:
        if isinstance(node, Mapping):
            return self._having_dict(node, where)
        return self.condition(node, self.root, where=where)

    def _having_dict(self, node: Mapping[Any, Any], where: str) -> Criterion:
        def leaf(key: str, value: Any, at: Nesting) -> Criterion:
            expression = self._aggregate_key(key, where)
            if expression is None:
                return self.filter_dict({key: value}, self.root, where=where, nesting=at)
            return self.compare(expression, value, where=f"{where} {key!r}", nesting=at)

        return combine(node, leaf, where=where, prefix="")

    def _aggregate_key(self, key: str, where: str) -> ColumnElement[Any] | None:
        """A having key that is a select label or an aggregate; None for a property path."""
        if key in self.labels:
            column = self.labels[key]
            if column.expression is None:
                raise ValidationError(f"{where}: {key!r} spans several columns")
            return column.expression
        if key.startswith("$"):
            return None
        parsed = parse_expression(key, where=where)
        if isinstance(parsed, Aggregate):
            return self.aggregate(parsed, where=where)[0]
        return None

    def compare(
        self,
        left: ColumnElement[Any],
        value: Any,
        *,
        where: str,
        nesting: Nesting = OUTERMOST,
    ) -> Criterion:
        """``left <op> value`` for an expression that is not a property (an aggregate); None
        when PRUNE dropped every operator."""
        if value is PRUNE:
            return None
        if isinstance(value, Mapping):
            if not value or not all(isinstance(k, str) and k.startswith("$") for k in value):
                raise ValidationError(f"{where}: expected a value or a dict of operators")
            operators: Mapping[str, Any] = value
        else:
            operators = {"$eq": value}
        parts: list[ColumnElement[bool]] = []
        for name, operand in operators.items():
            if name == "$not":
                inner = self.compare(left, operand, where=where, nesting=nesting.deeper(where))
                if inner is not None:
                    parts.append(sa.not_(inner))
                continue
            if name not in _VALUE_OPS:
                raise ValidationError(
                    f"{where}: unknown operator {name!r}; use one of {', '.join(_VALUE_OPS)}, $not"
                )
            if operand is not PRUNE:
                parts.append(self._compare_one(left, name, operand, where=f"{where} {name}"))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _compare_one(
        self, left: ColumnElement[Any], name: str, operand: Any, *, where: str
    ) -> ColumnElement[bool]:
        if name == "$exists":
            if not isinstance(operand, bool):
                raise ValidationError(f"{where} takes True or False")
            return left.is_not(None) if operand else left.is_(None)
        if name in ("$in", "$nin"):
            if is_expression(operand):
                right = operand.__orm_expression__(self.renderer)
                found = left.in_(right)
            else:
                if not isinstance(operand, (list, tuple, set, frozenset)):
                    raise ValidationError(f"{where} takes a list of values, got {operand!r}")
                found = left.in_([self.value(v, where=where) for v in operand])
            return found if name == "$in" else sa.or_(sa.not_(found), left.is_(None))
        if operand is None:
            if name == "$eq":
                return left.is_(None)
            if name == "$ne":
                return left.is_not(None)
            raise ValidationError(f"{where}: None compares only with $eq/$ne")
        right = self.value(operand, where=where)
        if name == "$like":
            if not isinstance(operand, str):
                raise ValidationError(f"{where} takes a str pattern")
            check_like_pattern(operand, where=where)
            return self.renderer.like(left, operand)  # \ escapes, as in filters
        operations: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
            "$eq": lambda a, b: a == b,
            "$ne": lambda a, b: sa.or_(a != b, a.is_(None)),
            "$gt": lambda a, b: a > b,
            "$gte": lambda a, b: a >= b,
            "$lt": lambda a, b: a < b,
            "$lte": lambda a, b: a <= b,
        }
        return operations[name](left, right)

    def value(self, operand: Any, *, where: str) -> Any:
        """A bound parameter (or a query-builder expression) for a having comparison."""
        if is_expression(operand):
            right = operand.__orm_expression__(self.renderer)
            return right.scalar_subquery() if isinstance(right, sa.Select) else right
        if isinstance(operand, int) and not isinstance(operand, bool):
            check_int(operand, where=where)
        check_finite(operand, where=where)
        if operand is None or isinstance(operand, _SCALAR_TYPES):
            return sa.bindparam(None, plain_to_db(self.renderer.values, operand))
        raise ValidationError(
            f"{where}: compare with a str, number, date or None, got {type(operand).__name__}"
        )
