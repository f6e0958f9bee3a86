"""Finders that see the unit of work: ``em.find_or_create`` and ``em.find_with_new_or_changed``.

Both answer with what the fork will write at its next flush, not only with what the database
holds now: new entities (persisted, or reached from one through ``Cascade.PERSIST``) and
managed entities with unflushed changes are matched in memory by
:mod:`orm.core.query.matching`; entities passed to ``em.remove`` are left out.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from orm.core.collection import Collection
from orm.core.errors import NotLoadedError, ValidationError
from orm.core.keys import Key, entity_key, normalize_key
from orm.core.loading.populate import StrategyName
from orm.core.metadata.model import Cascade, EntityMetadata, PropertyMetadata, ScalarKind
from orm.core.query.ast import Comparison, Condition
from orm.core.query.filter import is_entity, is_expression, parse_filter, parse_order_by
from orm.core.query.matching import check_evaluable, matches, sort_entities
from orm.core.query.options import page_bound
from orm.core.query.prune import PRUNE
from orm.core.routing import ConnectionType
from orm.core.state import STATE_KEY, Status, meta_of
from orm.core.unit_of_work.snapshot import changed_properties

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager
    from orm.core.unit_of_work.uow import UnitOfWork

T = TypeVar("T")

# One lock per fork: find_or_create calls of one fork run one at a time, so two of them
# started together (asyncio.gather) cannot both miss and create two entities.
_CREATE_LOCKS: weakref.WeakKeyDictionary[UnitOfWork, asyncio.Lock] = weakref.WeakKeyDictionary()


async def find_with_new_or_changed(
    em: EntityManager,
    entity: type[T],
    where: Any = None,
    *,
    populate: Sequence[str] = (),
    order_by: Mapping[str, Any] | None = None,
    limit: int | None = None,
    offset: int | None = None,
    strategy: StrategyName | None = None,
    connection: ConnectionType | None = None,
) -> list[T]:
    """``em.find`` merged with the fork's unflushed state (see the module docstring)."""
    meta = meta_of(entity)
    condition = parse_filter(meta, where)
    check_evaluable(condition)
    order = parse_order_by(meta, order_by)
    limit = page_bound("limit", limit)
    offset = page_bound("offset", offset)
    uow = em.unit_of_work
    changed = changed_entities(uow, meta)
    removed = {id(e) for e in uow.remove_queue.values() if type(e) is meta.cls}
    # A row of the page may drop out (changed or removed): read that many more, then cut.
    window = None if limit is None else (offset or 0) + limit + len(changed) + len(removed)
    # Sorting in memory reads the targets of the relations order_by crosses: load them.
    hops = {".".join(p.name for p in item.path[:-1]) for item in order if len(item.path) > 1}
    paths = [*populate, *sorted(hops - set(populate))]
    found: list[T] = await em.find(
        entity,
        where,
        populate=paths,
        order_by=order_by,
        limit=window,
        strategy=strategy,
        connection=connection,
    )
    found_ids = {id(e) for e in found}
    changed_ids = {id(e) for e in changed}
    kept = [
        e
        for e in found
        if id(e) not in removed and (id(e) not in changed_ids or matches(e, condition))
    ]
    now_matching = [e for e in changed if id(e) not in found_ids and matches(e, condition)]
    if now_matching and paths:
        await em.populate(now_matching, paths)
    new = [e for e in pending_new(uow, meta) if matches(e, condition)]
    merged: list[T] = [*kept, *now_matching, *new]
    if order:
        merged = sort_entities(merged, order)
    start = offset or 0
    return merged[start:] if limit is None else merged[start : start + limit]


async def find_or_create(
    em: EntityManager,
    entity: type[T],
    where: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
) -> T:
    """The entity matching ``where`` in the fork (new or managed) or the database; else a new
    one made of ``where`` and ``defaults``, persisted (inserted by the next flush)."""
    meta = meta_of(entity)
    values = equality_values(meta, where)
    extra = _defaults(meta, values, defaults)
    checks = [_check(meta, name, value) for name, value in values.items()]
    uow = em.unit_of_work
    lock = _CREATE_LOCKS.setdefault(uow, asyncio.Lock())
    async with lock:
        found = _first_in_memory(uow, meta, checks)
        if found is not None:
            return found  # type: ignore[no-any-return]
        # A new entity as a value: no row can point to it yet, so only the fork can match.
        if not any(is_entity(v) and entity_key(v, meta_of(v)) is None for v in values.values()):
            rows = await find_with_new_or_changed(em, entity, values, limit=1)
            if rows:
                return rows[0]
        data = {name: _creation_value(check) for name, check in zip(values, checks, strict=True)}
        return em.create(entity, {**data, **extra})


# -- what the fork holds ---------------------------------------------------------------------


def changed_entities(uow: UnitOfWork, meta: EntityMetadata) -> list[Any]:
    """Managed entities of ``meta`` whose persistent values differ from their snapshot."""
    candidates = {id(e): e for e in uow.touched.values()}
    for entity in uow.mutable_entities():
        candidates.setdefault(id(entity), entity)
    changed = []
    for entity in candidates.values():
        state = entity.__dict__[STATE_KEY]
        if type(entity) is not meta.cls or state.status is not Status.MANAGED:
            continue
        if id(entity) in uow.remove_queue:
            continue
        if changed_properties(entity, meta, state.snapshot or {}):
            changed.append(entity)
    return changed


def pending_new(uow: UnitOfWork, meta: EntityMetadata) -> list[Any]:
    """New entities of ``meta`` the next flush inserts: persisted ones, and new entities
    reached from them or from changed managed entities through ``Cascade.PERSIST``."""
    seen: dict[int, Any] = {}
    queue: deque[Any] = deque()
    for entity in uow.persist_queue.values():
        if _status(entity) is Status.NEW:
            seen[id(entity)] = entity
            queue.append(entity)
    # Changed managed entities are followed too (a book added to a loaded author's books).
    queue.extend(e for e in uow.touched.values() if _status(e) is Status.MANAGED)
    while queue:
        for target in _cascaded(queue.popleft()):
            if _status(target) is Status.NEW and id(target) not in seen:
                seen[id(target)] = target
                queue.append(target)
    return [e for e in seen.values() if type(e) is meta.cls]


def _cascaded(entity: Any) -> Iterable[Any]:
    for prop in meta_of(entity).properties.values():
        if prop.relation is None or not prop.cascade & Cascade.PERSIST:
            continue
        value = entity.__dict__.get(prop.name)
        if isinstance(value, Collection):
            yield from value.added
            yield from value.known_items
        elif value is not None:
            yield value


def _status(entity: Any) -> Status | None:
    state = entity.__dict__.get(STATE_KEY)
    return state.status if state is not None else None


# -- find_or_create's equality filter ----------------------------------------------------


def equality_values(meta: EntityMetadata, where: Any) -> dict[str, Any]:
    """``where`` checked to be ``{property: value or entity}``; PRUNE values are left out."""
    call = f"find_or_create({meta.class_name}, where)"
    if not isinstance(where, Mapping):
        raise ValidationError(
            f"{call} takes a dict of property values, e.g. {{'email': 'jon@wall.st'}}; got "
            f"{where!r}"
        )
    values: dict[str, Any] = {}
    for name, value in where.items():
        if not isinstance(name, str) or name.startswith("$"):
            raise ValidationError(
                f"{call}: {name!r} is not a property; find_or_create takes equality values only "
                f"($and/$or/$not and operators cannot say what to create); use em.find for them"
            )
        prop = meta.properties.get(name)
        if prop is None:
            known = ", ".join(p.name for p in meta.persistent)
            raise ValidationError(
                f"{meta.class_name} has no property {name!r} ({call}); known: {known}"
            )
        if value is PRUNE:
            continue
        _check_equality_value(prop, value, call)
        values[name] = value
    if not values:
        raise ValidationError(
            f"{call}: give at least one property value to find by (and to create with)"
        )
    return values


def _check_equality_value(prop: PropertyMetadata, value: Any, call: str) -> None:
    if not prop.is_persistent:
        raise ValidationError(
            f"{call}: {prop.path} is not stored in {prop.entity.class_name}'s row; use scalar "
            f"properties and owning to-one relations"
        )
    if prop.kind is ScalarKind.JSON:
        raise ValidationError(
            f"{call}: {prop.path} is JSON, which cannot be matched in memory; pass it in "
            f"defaults= instead"
        )
    if isinstance(value, Mapping) or is_expression(value):
        raise ValidationError(
            f"{call}: {prop.path} takes a plain value here, got {value!r}; find_or_create "
            f"matches by equality only (use em.find for operators and nested filters)"
        )
    if isinstance(value, (list, set)) or (isinstance(value, tuple) and prop.relation is None):
        raise ValidationError(
            f"{call}: {prop.path} takes one value, got {value!r} (a list would mean $in, which "
            f"cannot say what to create)"
        )


def _defaults(
    meta: EntityMetadata, values: Mapping[str, Any], defaults: Mapping[str, Any] | None
) -> dict[str, Any]:
    if defaults is None:
        return {}
    if not isinstance(defaults, Mapping):
        raise ValidationError(
            f"find_or_create({meta.class_name}, defaults=...) takes a dict of property values, "
            f"got {defaults!r}"
        )
    both = sorted(set(values) & set(defaults))
    if both:
        raise ValidationError(
            f"find_or_create({meta.class_name}): {', '.join(both)} given both in where and in "
            f"defaults; a default must not contradict what is searched for, so give it once"
        )
    return dict(defaults)


# A check is (property, the entity a to-one must hold, or the key it must have, or the
# parsed comparison of a scalar).
_Check = tuple[PropertyMetadata, Any]


def _check(meta: EntityMetadata, name: str, value: Any) -> _Check:
    prop = meta.properties[name]
    if prop.relation is None:
        return prop, parse_filter(meta, {name: value})
    target = prop.target
    assert target is not None
    if value is None or is_entity(value):
        if value is not None and not isinstance(value, target.cls):
            raise ValidationError(
                f"find_or_create: {prop.path} takes a {target.class_name}, got a "
                f"{type(value).__name__}"
            )
        return prop, value
    return prop, normalize_key(target, value, where=f"find_or_create: {prop.path}")


def _holds(entity: Any, check: _Check) -> bool:
    prop, expected = check
    if prop.relation is None:
        condition: Condition | None = expected
        return matches(entity, condition)
    if prop.name not in entity.__dict__ and _status(entity) is not Status.NEW:
        raise NotLoadedError(f"{prop.path} was not loaded")  # caught: the database decides
    current = entity.__dict__.get(prop.name)
    if expected is None or is_entity(expected):
        return current is expected
    key: Key = expected
    return current is not None and entity_key(current, meta_of(current)) == key


def _first_in_memory(uow: UnitOfWork, meta: EntityMetadata, checks: list[_Check]) -> Any:
    removed = uow.remove_queue
    managed = [
        e
        for e in uow.identity_map.of_class(meta.cls)
        if id(e) not in removed and e.__dict__[STATE_KEY].initialized
    ]
    for candidate in [*managed, *pending_new(uow, meta)]:
        try:
            if all(_holds(candidate, check) for check in checks):
                return candidate
        except NotLoadedError:
            continue  # loaded without a needed field: the database query decides
    return None


def _creation_value(check: _Check) -> Any:
    prop, expected = check
    if prop.relation is None:
        # The value as the filter coerced it (an enum member for its value, a UUID for text).
        assert isinstance(expected, Comparison)
        return expected.value
    return expected
