"""The filter language, parsed and validated into :mod:`orm.core.query.ast`.

``{"name": "x"}``, ``{"age": {"$gte": 18}}``, ``{"author": {"name": {"$like": "J%"}}}``,
``{"$or": [{...}, {...}]}``, a primary key, or an entity. Nothing here produces text: an
unknown property or operator is a :class:`ValidationError` before any SQL exists. A value that
is :data:`~orm.core.query.prune.PRUNE` drops its condition (see :mod:`orm.core.query.prune`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orm.core.errors import ValidationError
from orm.core.keys import coerce_scalar, normalize_key
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, ScalarKind
from orm.core.query.ast import And, Comparison, Condition, Not, Op, Or, OrderItem, RelationCondition
from orm.core.query.limits import OUTERMOST, Nesting, check_hops, check_json, check_text
from orm.core.query.options import name_list
from orm.core.query.prune import PRUNE, mentions_prune
from orm.core.state import STATE_KEY

_OPERATORS = {op.value: op for op in Op}
_LIST_OPS = (Op.IN, Op.NIN)
_TEXT_OPS = (Op.LIKE, Op.ILIKE, Op.RE)
_LOGICAL_OPS = ("$and", "$or", "$not")
# Operators that take a SQL expression as their value (see is_expression).
_EXPRESSION_OPS = (Op.EQ, Op.NE, Op.IN, Op.NIN, Op.GT, Op.GTE, Op.LT, Op.LTE)
_ORDER_ALIASES = {
    "asc": False,
    "ascending": False,
    "desc": True,
    "descending": True,
    1: False,
    -1: True,
}


def parse_filter(
    meta: EntityMetadata, where: Any, *, nesting: Nesting = OUTERMOST
) -> Condition | None:
    """Parse ``where`` (dict, primary key, list of keys, entity or None) for entity ``meta``.

    ``nesting`` is how deep ``where`` already sits in an enclosing filter (the query builder
    parses the leaves of its own ``$and``/``$or`` tree here); see :mod:`orm.core.query.limits`.
    """
    if where is None or where is PRUNE:
        return None
    if isinstance(where, Mapping):
        return _parse_mapping(meta, where, meta.class_name, nesting)
    pk = _pk_prop(meta)
    if isinstance(where, list):
        keys = tuple(normalize_key(meta, item, where=f"{meta.class_name} key") for item in where)
        return (
            _key_condition(meta, Op.IN, keys)
            if pk is None
            else Comparison(pk, Op.IN, tuple(k[0] for k in keys))
        )
    key = normalize_key(meta, where, where=f"{meta.class_name} key")
    return _key_condition(meta, Op.EQ, key)


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a SQL expression of a SQL driver's query builder (a subquery, a
    column reference, a raw fragment): it exposes ``__orm_expression__``. The core passes such
    values through unchanged, as the value of a comparison; the SQL renderer renders them."""
    return hasattr(type(value), "__orm_expression__")


def _expression(prop: PropertyMetadata, op: Op, value: Any, where: str) -> Condition:
    if op not in _EXPRESSION_OPS:
        names = ", ".join(o.value for o in _EXPRESSION_OPS)
        raise ValidationError(
            f"{where}: {op.value} does not take a query-builder expression; use one of {names}"
        )
    return Comparison(prop, op, value)


def _pk_prop(meta: EntityMetadata) -> PropertyMetadata | None:
    if len(meta.primary_keys) == 1 and meta.primary_keys[0].relation is None:
        return meta.primary_keys[0]
    return None


def key_condition(meta: EntityMetadata, keys: Sequence[tuple[Any, ...]]) -> Condition:
    """``primary key IN keys`` for any key shape (used by loaders)."""
    pk = _pk_prop(meta)
    if pk is not None:
        return Comparison(pk, Op.IN, tuple(k[0] for k in keys))
    return _key_condition(meta, Op.IN, tuple(keys))


def _key_condition(meta: EntityMetadata, op: Op, key: Any) -> Condition:
    """Equality (or IN) on a possibly composite key, split over its properties."""
    keys: tuple[tuple[Any, ...], ...] = key if op is Op.IN else (key,)
    alternatives: list[Condition] = []
    for one in keys:
        parts: list[Condition] = []
        offset = 0
        for prop in meta.primary_keys:
            width = len(prop.columns)
            chunk = one[offset : offset + width]
            offset += width
            value = chunk if prop.relation is not None else chunk[0]
            parts.append(Comparison(prop, Op.EQ, value))
        alternatives.append(parts[0] if len(parts) == 1 else And(tuple(parts)))
    if op is Op.EQ:
        return alternatives[0]
    return Or(tuple(alternatives))


def _parse_mapping(
    meta: EntityMetadata, where: Mapping[str, Any], path: str, nesting: Nesting
) -> Condition | None:
    items: list[Condition] = []
    for key, value in where.items():
        if not isinstance(key, str):
            raise ValidationError(f"{path}: filter keys must be property names, got {key!r}")
        if key in ("$and", "$or", "$not") and value is PRUNE:
            continue
        if key in ("$and", "$or"):
            if not isinstance(value, (list, tuple)) or not all(
                isinstance(v, Mapping) or v is PRUNE for v in value
            ):
                raise ValidationError(f"{path}: {key} takes a list of filter dicts, got {value!r}")
            inner_nesting = nesting.deeper(path)
            parts = [
                c
                for c in (
                    _parse_mapping(meta, v, path, inner_nesting) for v in value if v is not PRUNE
                )
                if c is not None
            ]
            if parts:
                items.append(And(tuple(parts)) if key == "$and" else Or(tuple(parts)))
            elif key == "$or" and not mentions_prune(value):
                # Written empty, an $or matches nothing; emptied by PRUNE, it disappears.
                items.append(Or(()))
        elif key == "$not":
            if not isinstance(value, Mapping):
                raise ValidationError(f"{path}: $not takes a filter dict, got {value!r}")
            inner = _parse_mapping(meta, value, path, nesting.deeper(path))
            if inner is not None:
                items.append(Not(inner))
        elif key.startswith("$"):
            raise ValidationError(
                f"{path}: unknown operator {key!r} at the top of a filter; use $and, $or, $not, "
                f"or a property name of {meta.class_name}"
            )
        else:
            prop = meta.properties.get(key)
            if prop is None:
                known = ", ".join(meta.properties)
                raise ValidationError(
                    f"{meta.class_name} has no property {key!r} (in filter {path}); known "
                    f"properties: {known}"
                )
            if value is PRUNE:
                continue
            condition = _parse_property(prop, value, f"{meta.class_name}.{key}", nesting)
            if condition is not None:
                items.append(condition)
    if not items:
        return None
    return items[0] if len(items) == 1 else And(tuple(items))


def _is_operator_dict(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(k, str) and k.startswith("$") for k in value)
    )


def _parse_property(
    prop: PropertyMetadata, value: Any, where: str, nesting: Nesting
) -> Condition | None:
    """The condition on ``prop``; None when PRUNE dropped every part of it."""
    if prop.relation is not None:
        return _parse_relation(prop, value, where, nesting)
    if _is_operator_dict(value):
        return _combine([_operator(prop, op, v, where, nesting) for op, v in value.items()])
    if isinstance(value, Mapping) and prop.kind is not ScalarKind.JSON:
        raise ValidationError(
            f"{where} is not a relation: a dict value must hold operators such as $eq or $in, "
            f"got {dict(value)!r}"
        )
    if isinstance(value, (list, tuple, set)) and prop.kind is not ScalarKind.JSON:
        return _operator(prop, "$in", list(value), where, nesting)
    return _operator(prop, "$eq", value, where, nesting)


def _combine(parts: list[Condition | None]) -> Condition | None:
    """The AND of the parts PRUNE left (None: none left)."""
    items = [item for item in parts if item is not None]
    if not items:
        return None
    return items[0] if len(items) == 1 else And(tuple(items))


def _operator(
    prop: PropertyMetadata, name: str, value: Any, where: str, nesting: Nesting
) -> Condition | None:
    op = _OPERATORS.get(name)
    if op is None and name != "$not":
        known = ", ".join(sorted(_OPERATORS))
        raise ValidationError(f"{where}: unknown operator {name!r}; use one of {known}, $not")
    if value is PRUNE:
        return None
    if op is None:
        if not isinstance(value, Mapping):
            raise ValidationError(f"{where}: $not takes a dict of operators, got {value!r}")
        inner = _parse_property(prop, value, where, nesting.deeper(where))
        return None if inner is None else Not(inner)
    kind = prop.kind
    assert kind is not None
    at = f"{where} {name}"
    if is_expression(value):
        return _expression(prop, op, value, at)
    if op in _LIST_OPS:
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise ValidationError(f"{at} takes a list of values, got {value!r}")
        _no_prune_item(value, at)
        converted = tuple(coerce_scalar(kind, v, where=at, enum_type=prop.enum_type) for v in value)
        return Comparison(prop, op, converted)
    if op is Op.EXISTS:
        if not isinstance(value, bool):
            raise ValidationError(f"{at} takes True or False, got {value!r}")
        return Comparison(prop, op, value)
    if op in _TEXT_OPS:
        if not isinstance(value, str):
            raise ValidationError(f"{at} takes a str pattern, got {value!r}")
        if kind is not ScalarKind.STRING:
            raise ValidationError(f"{at} applies to str properties; {where} is {kind.value}")
        check_text(value, where=at)
        return Comparison(prop, op, value)
    if op is Op.CONTAINS:
        if kind is not ScalarKind.JSON:
            raise ValidationError(
                f"{at} applies to JSON (dict/list) properties; for text use $like '%...%'"
            )
        check_json(value, where=at)
        return Comparison(prop, op, value)
    if kind is ScalarKind.JSON and op is not Op.EQ and op is not Op.NE:
        raise ValidationError(f"{at}: JSON properties support $eq, $ne, $contains, $exists")
    return Comparison(prop, op, coerce_scalar(kind, value, where=at, enum_type=prop.enum_type))


def _no_prune_item(values: Any, where: str) -> None:
    if any(item is PRUNE for item in values):
        raise ValidationError(
            f"{where}: PRUNE drops a whole condition, not an item of a list; build the list "
            f"without that item, or write PRUNE in place of the whole list"
        )


def _parse_relation(
    prop: PropertyMetadata, value: Any, where: str, nesting: Nesting
) -> Condition | None:
    target = prop.target
    assert target is not None
    logical_only = isinstance(value, Mapping) and all(k in _LOGICAL_OPS for k in value)
    if isinstance(value, Mapping) and value and (logical_only or not _is_operator_dict(value)):
        if any(isinstance(k, str) and k.startswith("$") and k not in _LOGICAL_OPS for k in value):
            raise ValidationError(
                f"{where}: do not mix operators and property names in one dict ({dict(value)!r})"
            )
        inner = _parse_mapping(target, value, where, nesting.hop(where))
        if inner is None:
            if mentions_prune(value):
                return None
            raise ValidationError(f"{where}: empty filter on a relation")
        return RelationCondition(prop, inner)
    if prop.is_owning_to_one:
        return _foreign_key(prop, value, where)
    # Inverse sides: a condition on the target's key.
    if value is None:
        raise ValidationError(
            f"{where}: compare the inverse side of a relation to entities or keys, not None"
        )
    keys = _target_keys(target, value, where)
    return None if keys is None else RelationCondition(prop, keys)


def _foreign_key(prop: PropertyMetadata, value: Any, where: str) -> Condition | None:
    target = prop.target
    assert target is not None
    if is_expression(value):
        return _expression(prop, Op.EQ, value, where)
    if _is_operator_dict(value):
        parts: list[Condition | None] = []
        for name, operand in value.items():
            op = _OPERATORS.get(name)
            if operand is PRUNE and op in (Op.EQ, Op.NE, Op.IN, Op.NIN, Op.EXISTS):
                continue
            if op is not None and is_expression(operand):
                parts.append(_expression(prop, op, operand, f"{where} {name}"))
            elif op in (Op.EQ, Op.NE):
                key = None if operand is None else normalize_key(target, operand, where=where)
                parts.append(Comparison(prop, op, key))
            elif op in _LIST_OPS:
                if not isinstance(operand, (list, tuple, set)):
                    raise ValidationError(f"{where} {name} takes a list, got {operand!r}")
                _no_prune_item(operand, f"{where} {name}")
                keys = tuple(normalize_key(target, o, where=where) for o in operand)
                parts.append(Comparison(prop, op, keys))
            elif op is Op.EXISTS:
                if not isinstance(operand, bool):
                    raise ValidationError(f"{where} $exists takes True or False")
                parts.append(Comparison(prop, op, operand))
            else:
                raise ValidationError(
                    f"{where}: operator {name!r} does not apply to a relation; use $eq, $ne, $in, "
                    f"$nin, $exists, or filter the target's properties with a nested dict"
                )
        return _combine(parts)
    if isinstance(value, (list, tuple)) and not (
        isinstance(value, tuple) and len(target.pk_columns) > 1
    ):
        _no_prune_item(value, where)
        return Comparison(prop, Op.IN, tuple(normalize_key(target, v, where=where) for v in value))
    if value is None:
        return Comparison(prop, Op.EQ, None)
    return Comparison(prop, Op.EQ, normalize_key(target, value, where=where))


def _target_keys(target: EntityMetadata, value: Any, where: str) -> Condition | None:
    if _is_operator_dict(value):
        if set(value) - {"$in", "$eq"}:
            raise ValidationError(f"{where}: only $in and $eq apply to the keys of a collection")
        value = {name: operand for name, operand in value.items() if operand is not PRUNE}
        if not value:
            return None
        if "$in" in value:
            if not isinstance(value["$in"], (list, tuple, set, frozenset)):
                raise ValidationError(f"{where} $in takes a list of keys, got {value['$in']!r}")
            keys = [normalize_key(target, v, where=where) for v in value["$in"]]
            return key_condition(target, keys)
        value = value["$eq"]
    if isinstance(value, list):
        return key_condition(target, [normalize_key(target, v, where=where) for v in value])
    return key_condition(target, [normalize_key(target, value, where=where)])


def parse_order_by(meta: EntityMetadata, order_by: Any) -> tuple[OrderItem, ...]:
    """``{"name": "asc", "author": {"name": "desc"}}`` into order items."""
    if not order_by:
        return ()
    if not isinstance(order_by, Mapping):
        raise ValidationError(
            f"order_by for {meta.class_name} takes a dict such as {{'name': 'asc'}}, got "
            f"{order_by!r}"
        )
    return tuple(_order_items(meta, order_by, ()))


def _order_items(
    meta: EntityMetadata, order_by: Mapping[str, Any], prefix: tuple[PropertyMetadata, ...]
) -> list[OrderItem]:
    items: list[OrderItem] = []
    for name, direction in order_by.items():
        if not isinstance(name, str):
            raise ValidationError(
                f"order_by for {meta.class_name}: keys are property names, got {name!r}"
            )
        prop = meta.properties.get(name)
        where = ".".join([p.name for p in prefix] + [name])
        if prop is None:
            raise ValidationError(
                f"order_by: {meta.class_name} has no property {name!r} (in {where!r})"
            )
        if isinstance(direction, Mapping):
            if not prop.is_to_one or prop.target is None:
                raise ValidationError(
                    f"order_by: {prop.path} is not a to-one relation, so it cannot be ordered by "
                    f"its target's properties"
                )
            check_hops(len(prefix) + 1, f"order_by {where}", "an order")
            items.extend(_order_items(prop.target, direction, (*prefix, prop)))
            continue
        if prop.is_collection:
            raise ValidationError(f"order_by: cannot order by the collection {prop.path}")
        if isinstance(direction, str):
            key: str | int = " ".join(direction.lower().split())
        elif isinstance(direction, int) and not isinstance(direction, bool):
            key = direction
        else:
            raise ValidationError(
                f"order_by {where}: a direction is 'asc' or 'desc' (or 1/-1), optionally "
                f"followed by ' nulls first'/' nulls last', or a dict for a to-one relation; "
                f"got {direction!r}"
            )
        nulls_first: bool | None = None
        if isinstance(key, str) and " nulls " in key:
            key, _, nulls = key.partition(" nulls ")
            if nulls not in ("first", "last"):
                raise ValidationError(
                    f"order_by {where}: use 'nulls first' or 'nulls last', got {direction!r}"
                )
            nulls_first = nulls == "first"
        if key not in _ORDER_ALIASES:
            raise ValidationError(
                f"order_by {where}: direction must be 'asc' or 'desc' (optionally with "
                f"' nulls first'/' nulls last'), got {direction!r}"
            )
        if prop.is_to_one and not prop.owner:
            raise ValidationError(f"order_by: cannot order by the inverse side {prop.path}")
        items.append(OrderItem((*prefix, prop), _ORDER_ALIASES[key], nulls_first))
    return items


def is_entity(value: Any) -> bool:
    return STATE_KEY in getattr(value, "__dict__", {})


def parse_fields(
    meta: EntityMetadata, fields: Sequence[str] | None, exclude: Sequence[str] | None
) -> tuple[PropertyMetadata, ...]:
    """The properties a partial load reads (the primary key always); () means all of them."""
    if fields is None and exclude is None:
        return ()
    if fields is not None and exclude is not None:
        raise ValidationError(f"{meta.class_name}: pass fields= or exclude=, not both")
    option = "fields" if fields is not None else "exclude"
    names = name_list(
        option, fields if fields is not None else exclude, what="property names", example="'title'"
    )
    for name in names:
        prop = meta.properties.get(name)
        if prop is None:
            raise ValidationError(
                f"{meta.class_name} has no property {name!r} (in fields/exclude); known: "
                f"{', '.join(p.name for p in meta.persistent)}"
            )
        if not prop.is_persistent:
            raise ValidationError(
                f"{prop.path} is not a column of {meta.class_name}; fields/exclude take scalar "
                f"properties and owning to-one relations (use populate= for relations)"
            )
        if exclude is not None and prop.primary:
            raise ValidationError(f"{prop.path} is the primary key and cannot be excluded")
    chosen = set(names)
    if exclude is not None:
        return tuple(p for p in meta.persistent if p.name not in chosen)
    return tuple(p for p in meta.persistent if p.name in chosen or p.primary)
