"""What the SQL drivers answer for a filter tree, computed in Python over rows in memory.

The reference the MongoDB filter compiler is checked against: SQL's three-valued logic (a
comparison with NULL is UNKNOWN, ``NOT UNKNOWN`` is UNKNOWN, a row is selected where the
condition is TRUE), the renderer's ``$ne``/``$nin`` (``OR f IS NULL``), to-one relations as
LEFT JOINs (a missing target is a row of NULLs) and to-many relations as ``EXISTS``.
``$contains`` is the SQLite driver's own implementation of PostgreSQL's ``@>``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind, ScalarKind
from orm.core.query.ast import And, Comparison, Condition, Not, Op, Or, RelationCondition
from orm.sqlite.functions import json_contains

Row = dict[str, Any]  # property name -> Python value; to-one relations hold key tuples
Truth = bool | None

_ORDERING: dict[Op, Callable[[Any, Any], bool]] = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
}


@dataclass
class World:
    """Rows of every entity by class name and key, and the ManyToMany links by property."""

    rows: dict[str, dict[Any, Row]] = field(default_factory=dict)
    # (owning entity, property) -> set of (owner key, target key)
    links: dict[tuple[str, str], set[tuple[Any, Any]]] = field(default_factory=dict)

    def selected(self, meta: EntityMetadata, condition: Condition) -> set[Any]:
        """Keys of ``meta``'s rows where ``condition`` is TRUE."""
        return {
            key
            for key, row in self.rows[meta.class_name].items()
            if evaluate(self, meta, row, condition) is True
        }


def evaluate(world: World, meta: EntityMetadata, row: Row | None, node: Condition) -> Truth:
    """``node`` on ``row`` of ``meta``; ``None`` stands for a row of NULLs."""
    if isinstance(node, Comparison):
        value = None if row is None else row.get(node.prop.name)
        return compare(node.prop, node.op, value, node.value)
    if isinstance(node, Not):
        inner = evaluate(world, meta, row, node.item)
        return None if inner is None else not inner
    if isinstance(node, And):
        values = [evaluate(world, meta, row, item) for item in node.items]
        if False in values:
            return False
        return True if all(v is True for v in values) else None
    if isinstance(node, Or):
        values = [evaluate(world, meta, row, item) for item in node.items]
        if True in values:
            return True
        return False if all(v is False for v in values) else None
    return _relation(world, meta, row, node)


def _relation(
    world: World, meta: EntityMetadata, row: Row | None, node: RelationCondition
) -> Truth:
    prop = node.prop
    target = prop.target
    assert target is not None
    targets = [] if row is None else _targets(world, meta, row, prop)
    if prop.is_to_one:
        # LEFT JOIN: the target's row, or a row of NULLs.
        return evaluate(world, target, targets[0] if targets else None, node.condition)
    return any(evaluate(world, target, t, node.condition) is True for t in targets)


def _targets(world: World, meta: EntityMetadata, row: Row, prop: PropertyMetadata) -> list[Row]:
    target = prop.target
    assert target is not None
    pk = meta.primary_keys[0].name
    candidates = world.rows[target.class_name]
    if prop.is_to_one and prop.owner:
        key = row.get(prop.name)
        found = None if key is None else candidates.get(key[0])
        return [] if found is None else [found]
    if prop.relation in (RelationKind.ONE_TO_MANY, RelationKind.ONE_TO_ONE):
        inverse = prop.inverse
        assert inverse is not None
        return [t for t in candidates.values() if t.get(inverse.name) == (row[pk],)]
    if prop.owner:
        pairs = world.links.get((meta.class_name, prop.name), set())
        return [candidates[t] for o, t in sorted(pairs, key=repr) if o == row[pk]]
    inverse = prop.inverse
    assert inverse is not None
    pairs = world.links.get((target.class_name, inverse.name), set())
    return [candidates[o] for o, t in sorted(pairs, key=repr) if t == row[pk]]


def compare(prop: PropertyMetadata, op: Op, stored: Any, wanted: Any) -> Truth:
    if prop.relation is not None:
        # Key tuples: compare their single values.
        stored = None if stored is None else stored[0]
        if op in (Op.IN, Op.NIN):
            wanted = [None if k is None else k[0] for k in wanted]
        elif op is not Op.EXISTS:
            wanted = None if wanted is None else wanted[0]
    equal = json_equal if prop.kind is ScalarKind.JSON else _plain_equal
    if op is Op.EXISTS:
        return (stored is not None) is wanted
    if op is Op.EQ:
        if wanted is None:
            return stored is None
        return None if stored is None else equal(stored, wanted)
    if op is Op.NE:
        if wanted is None:
            return stored is not None
        return True if stored is None else not equal(stored, wanted)
    if op is Op.IN:
        return _in(stored, list(wanted), equal)
    if op is Op.NIN:
        found = _in(stored, list(wanted), equal)
        return True if stored is None else (None if found is None else not found)
    if op is Op.CONTAINS:
        # The candidate is JSON (null too, which the SQL drivers wrap as [null]).
        if stored is None:
            return None
        if isinstance(wanted, dict):
            return json_contains(stored, wanted) or json_contains(stored, [wanted])
        return json_contains(stored, wanted if isinstance(wanted, list) else [wanted])
    if stored is None or wanted is None:
        return None
    if op in _ORDERING:
        return _ORDERING[op](stored, wanted)
    if op is Op.LIKE:
        return like(stored, wanted, fold=False)
    if op is Op.ILIKE:
        return like(stored, wanted, fold=True)
    if op is Op.RE:
        return re.search(wanted, stored, re.DOTALL) is not None
    raise AssertionError(op)


def _in(stored: Any, items: Sequence[Any], equal: Callable[[Any, Any], bool]) -> Truth:
    if not items:
        return False
    if stored is None:
        return None
    if any(item is not None and equal(stored, item) for item in items):
        return True
    return None if any(item is None for item in items) else False


def _plain_equal(stored: Any, wanted: Any) -> bool:
    return bool(stored == wanted)


def json_equal(stored: Any, wanted: Any) -> bool:
    """JSON equality as jsonb's: objects regardless of key order, ``true`` is not ``1``."""
    if isinstance(stored, Mapping) or isinstance(wanted, Mapping):
        return (
            isinstance(stored, Mapping)
            and isinstance(wanted, Mapping)
            and stored.keys() == wanted.keys()
            and all(json_equal(stored[k], wanted[k]) for k in stored)
        )
    if isinstance(stored, list) or isinstance(wanted, list):
        return (
            isinstance(stored, list)
            and isinstance(wanted, list)
            and len(stored) == len(wanted)
            and all(json_equal(s, w) for s, w in zip(stored, wanted, strict=True))
        )
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return stored is wanted
    return bool(stored == wanted) and (isinstance(stored, str) == isinstance(wanted, str))


def like(text: str, pattern: str, *, fold: bool) -> bool:
    """SQL LIKE with ``\\`` escaping: matched by dynamic programming over the pattern."""
    if fold:
        text, pattern = text.lower(), pattern.lower()
    tokens: list[tuple[str, str]] = []  # ("any"/"one"/"char", char)
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 1
            tokens.append(("char", pattern[index]))
        elif char == "%":
            tokens.append(("any", ""))
        elif char == "_":
            tokens.append(("one", ""))
        else:
            tokens.append(("char", char))
        index += 1
    # reachable[i]: the first i characters of text are matched by the tokens so far
    reachable = [True] + [False] * len(text)
    for kind, char in tokens:
        if kind == "any":
            seen = False
            step = []
            for ok in reachable:
                seen = seen or ok
                step.append(seen)
        else:
            step = [False] + [
                reachable[i] and (kind == "one" or text[i] == char) for i in range(len(text))
            ]
        reachable = step
    return reachable[len(text)]
