"""What a flush has to write: new entities (with cascades), changes, removals, pivot rows.

Planning changes nothing in the EntityManager, so a flush that fails leaves it as it was. The
one thing it writes is a client-generated key (the driver's KeyPolicy, e.g. an ObjectId) on a
new entity that has none: kept if the flush fails, and sent again by the next one, as a
default_factory value would be; the values of ``@default`` methods are kept the same way.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orm.core.collection import Collection
from orm.core.errors import EntityStateError, ValidationError
from orm.core.metadata.model import Cascade, PropertyMetadata, RelationKind
from orm.core.state import STATE_KEY, EntityState, Status, meta_of
from orm.core.unit_of_work.defaults import compute_defaults
from orm.core.unit_of_work.snapshot import changed_properties
from orm.core.unit_of_work.value_problems import ValueProblems
from orm.core.unit_of_work.versions import initial_version

if TYPE_CHECKING:
    from orm.core.unit_of_work.uow import UnitOfWork

_MISSING: Any = object()


@dataclass
class FlushPlan:
    inserts: list[Any] = field(default_factory=list)
    updates: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    removes: list[Any] = field(default_factory=list)
    pivot_inserts: list[tuple[PropertyMetadata, Any, Any]] = field(default_factory=list)
    pivot_deletes: list[tuple[PropertyMetadata, Any, Any]] = field(default_factory=list)
    collections: list[Collection[Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.inserts or self.updates or self.removes or self.pivot_inserts or self.pivot_deletes
        )


async def build_plan(uow: UnitOfWork, *, check_values: bool = True) -> FlushPlan:
    """What the next flush writes. ``check_values=False`` skips the value checks: for the
    drafts the flush computes to run ``before_*`` hooks, which may still set those values."""
    plan = FlushPlan()
    removed = await _collect_removals(uow)
    plan.removes = list(removed.values())
    plan.inserts = _collect_inserts(uow, removed)
    _generate_client_keys(plan.inserts)
    # @default values (docs/defaults.md); a default that sets a relation may reach new entities.
    while await compute_defaults(plan.inserts):
        plan.inserts = _collect_inserts(uow, removed)
        _generate_client_keys(plan.inserts)
    inserted = {id(e) for e in plan.inserts}
    # Every value to write is checked against its property, and every problem reported at once,
    # before anything is sent (a flush that fails here changes nothing).
    problems = ValueProblems() if check_values else None
    if problems is not None:
        problems.check_inserts(plan.inserts)
    for entity in _candidates_for_update(uow):
        if id(entity) in removed or id(entity) in inserted:
            continue
        state: EntityState = entity.__dict__[STATE_KEY]
        if state.status is not Status.MANAGED:
            continue
        meta = meta_of(entity)
        changes = changed_properties(entity, meta, state.snapshot or {})
        if changes:
            if problems is not None:
                problems.check_changes(entity, meta, changes)
            plan.updates.append((entity, changes))
    if problems is not None:
        problems.raise_if_any()
    _collect_pivots(uow, plan, removed, inserted)
    return plan


def _generate_client_keys(entities: list[Any]) -> None:
    """Give new entities the keys their driver generates in the client, before the value checks
    and the insert, so the insert sends them and rows referring to these entities can too; and
    their first version (optimistic locking) when they have a version property."""
    for entity in entities:
        d = entity.__dict__
        meta = meta_of(entity)
        for prop in meta.primary_keys:
            if prop.key_factory is not None and d.get(prop.name) is None:
                d[prop.name] = prop.key_factory()
        version = meta.version_property
        if version is not None and d.get(version.name) is None:
            d[version.name] = initial_version(version)


def _candidates_for_update(uow: UnitOfWork) -> list[Any]:
    seen = dict(uow.touched)
    for entity in uow.mutable_entities():
        seen.setdefault(id(entity), entity)
    return list(seen.values())


async def _collect_removals(uow: UnitOfWork) -> dict[int, Any]:
    removed: dict[int, Any] = {}
    level = [e for e in uow.remove_queue.values() if _status(e) is Status.MANAGED]
    for entity in list(uow.touched.values()):
        level.extend(_orphans(entity))
    while level:
        fresh = []
        for entity in level:
            if id(entity) not in removed:
                removed[id(entity)] = entity
                fresh.append(entity)
        await _load_cascading(uow, fresh)
        level = [child for entity in fresh for child in _cascade_remove_targets(entity)]
    return removed


def _orphans(entity: Any) -> Iterable[Any]:
    if _status(entity) is not Status.MANAGED:
        return ()
    orphans = []
    for prop in meta_of(entity).collections:
        if not prop.orphan_removal:
            continue
        collection: Collection[Any] | None = entity.__dict__.get(prop.name)
        if collection is None:
            continue
        assert prop.mapped_by is not None
        for item in collection.removed:
            if item.__dict__.get(prop.mapped_by) is None and _status(item) is Status.MANAGED:
                orphans.append(item)
    return orphans


async def _load_cascading(uow: UnitOfWork, entities: list[Any]) -> None:
    """Load the not-yet-loaded relations a cascading remove has to follow (one query each)."""
    by_prop: dict[int, tuple[PropertyMetadata, list[Any]]] = {}
    for entity in entities:
        for prop in meta_of(entity).properties.values():
            if prop.relation is None or not prop.cascade & Cascade.REMOVE:
                continue
            if _needs_load(entity, prop):
                by_prop.setdefault(id(prop), (prop, []))[1].append(entity)
    if by_prop:
        await asyncio.gather(
            *(uow.loader.load_relation(owners, prop) for prop, owners in by_prop.values())
        )


def _needs_load(entity: Any, prop: PropertyMetadata) -> bool:
    value = entity.__dict__.get(prop.name, _MISSING)
    if prop.is_collection:
        return isinstance(value, Collection) and not value.initialized
    return value is _MISSING


def _cascade_remove_targets(entity: Any) -> list[Any]:
    targets: list[Any] = []
    for prop in meta_of(entity).properties.values():
        if prop.relation is None or not prop.cascade & Cascade.REMOVE:
            continue
        value = entity.__dict__.get(prop.name)
        if value is None:
            continue
        items = value.known_items if prop.is_collection else [value]
        targets.extend(i for i in items if _status(i) is Status.MANAGED)
    return targets


def _collect_inserts(uow: UnitOfWork, removed: dict[int, Any]) -> list[Any]:
    """New entities to insert: persisted ones and those reachable through Cascade.PERSIST."""
    found: dict[int, Any] = {}
    queue: deque[Any] = deque()

    def add(entity: Any) -> None:
        found[id(entity)] = entity
        queue.append(entity)

    def consider(prop: PropertyMetadata, source: Any, target: Any) -> None:
        state = target.__dict__.get(STATE_KEY) if hasattr(target, "__dict__") else None
        if state is None:
            if not prop.is_collection:
                return  # a to-one holding a non-entity: the value checks report it
            raise ValidationError(f"{prop.path} holds a {type(target).__name__}, not an entity")
        if state.uow is not None and state.uow is not uow:
            raise EntityStateError(
                f"{prop.path} points to a {type(target).__name__} managed by another "
                f"EntityManager fork; load it in this fork (em.get_reference or find) instead "
                f"of sharing entities between forks"
            )
        if state.status is not Status.NEW or id(target) in found or id(target) in removed:
            return
        if not prop.cascade & Cascade.PERSIST:
            raise ValidationError(
                f"{prop.path} of a {type(source).__name__} points to a new "
                f"{type(target).__name__} that was never persisted: call em.persist() on it, "
                f"or add Cascade.PERSIST to {prop.path}"
            )
        add(target)

    for entity in list(uow.persist_queue.values()):
        if _status(entity) is Status.NEW and id(entity) not in found and id(entity) not in removed:
            add(entity)
    for entity in list(uow.touched.values()):
        if _status(entity) is Status.MANAGED and id(entity) not in removed:
            for prop, target in _related(entity, whole=False):
                consider(prop, entity, target)
    order: list[Any] = []
    while queue:
        current = queue.popleft()
        order.append(current)
        for prop, target in _related(current, whole=True):
            consider(prop, current, target)
    return order


def _related(entity: Any, *, whole: bool) -> Iterable[tuple[PropertyMetadata, Any]]:
    """Related entities; for a managed owner (``whole=False``) only collection additions."""
    d = entity.__dict__
    for prop in meta_of(entity).properties.values():
        if prop.relation is None:
            continue
        value = d.get(prop.name)
        if value is None:
            continue
        if prop.is_collection:
            items = list(value.added)
            if whole:
                items.extend(value.known_items)
            for item in items:
                yield prop, item
        else:
            yield prop, value


def _collect_pivots(
    uow: UnitOfWork, plan: FlushPlan, removed: dict[int, Any], inserted: set[int]
) -> None:
    owners = dict(uow.touched)
    for entity in plan.inserts:
        owners.setdefault(id(entity), entity)
    for owner in owners.values():
        if id(owner) in removed:
            continue
        for prop in meta_of(owner).collections:
            collection: Collection[Any] | None = owner.__dict__.get(prop.name)
            if collection is None:
                continue
            plan.collections.append(collection)
            if prop.relation is not RelationKind.MANY_TO_MANY or not prop.owner:
                continue
            for target in collection.added:
                if id(target) not in removed:
                    plan.pivot_inserts.append((prop, owner, target))
            if id(owner) in inserted:
                continue
            for target in collection.removed:
                if id(target) not in removed and id(target) not in inserted:
                    plan.pivot_deletes.append((prop, owner, target))


def _status(entity: Any) -> Status | None:
    state = entity.__dict__.get(STATE_KEY)
    return state.status if state is not None else None
