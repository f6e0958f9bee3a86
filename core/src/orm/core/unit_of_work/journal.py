"""What a rolled-back transaction or savepoint undoes in the fork: the journal of its flushes.

The rule (docs/unit-of-work.md#a-rolled-back-block-keeps-your-changes): after a block rolls
back, every entity is back to the state it had before the block's flushes. The database lost
what they wrote, so the fork must not believe it was written: updated entities get their old
snapshot back (their values stay, so the changes are pending again), inserted entities are new
again and scheduled for insertion, removed entities are managed again and scheduled for
removal, and collection changes are pending again. Nothing the user assigned is reverted; the
next flush of the surrounding block (or of the fork) writes it all.

A frame is opened per ``em.transaction()`` block. Each flush inside it records, *before* its
results are applied to the entities, one undo step per entity and collection it touched; a
committed block hands its steps to the enclosing frame, a rolled-back block runs them newest
first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orm.core.collection import Collection
from orm.core.keys import entity_key
from orm.core.metadata.model import EntityMetadata, RelationKind
from orm.core.state import STATE_KEY, EntityState, Status, meta_of

if TYPE_CHECKING:
    from orm.core.unit_of_work.plan import FlushPlan
    from orm.core.unit_of_work.uow import UnitOfWork

Undo = Callable[[], None]
_MISSING: Any = object()


class Journal:
    """The undo steps of the open transaction frames of one Unit of Work."""

    __slots__ = ("_frames", "_uow")

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._frames: list[list[Undo]] = []

    @property
    def recording(self) -> bool:
        return bool(self._frames)

    @property
    def depth(self) -> int:
        return len(self._frames)

    def open(self) -> int:
        """Open a frame; returns the depth to pass to :meth:`close`."""
        self._frames.append([])
        return len(self._frames)

    def close(self, depth: int, *, committed: bool) -> None:
        """End the frame opened at ``depth`` (and any left open above it by an error).

        Committed: its steps join the enclosing frame, to be undone if that one rolls back.
        Rolled back: its steps run, newest first.
        """
        while len(self._frames) >= depth:
            frame = self._frames.pop()
            if committed and len(self._frames) >= 1:
                self._frames[-1].extend(frame)
            elif not committed:
                for undo in reversed(frame):
                    undo()

    def clear(self) -> None:
        """``em.clear()``: the entities are detached, nothing is left to put back."""
        for frame in self._frames:
            frame.clear()

    # -- recording -------------------------------------------------------------------------

    def record_flush(self, plan: FlushPlan, generated: dict[int, dict[str, Any]]) -> None:
        """Before a flush's results are applied: the steps that put each entity back."""
        if not self._frames:
            return
        frame = self._frames[-1]
        uow = self._uow
        # Applied newest first: collections, then removals, updates, inserts.
        for entity in plan.inserts:
            frame.append(_undo_insert(uow, entity, generated.get(id(entity), {})))
        for entity, _ in plan.updates:
            frame.append(_undo_update(uow, entity))
        for entity in plan.removes:
            frame.append(_undo_remove(uow, entity))
        seen: set[int] = set()
        for collection in _changed_collections(plan):
            if id(collection) not in seen:
                seen.add(id(collection))
                frame.append(_undo_collection(collection))

    def record_upsert(self, entity: Any, meta: EntityMetadata, *, existed: bool) -> None:
        """Before an upserted row is applied to ``entity``: restore it, or evict it."""
        if self._frames:
            self._frames[-1].append(
                _undo_overwrite(self._uow, entity, meta)
                if existed
                else _undo_load(self._uow, entity, meta)
            )


def _changed_collections(plan: FlushPlan) -> list[Collection[Any]]:
    """Every collection whose pending changes or items the flush's results will touch."""
    collections = list(plan.collections)
    for entity in plan.inserts:
        for prop in meta_of(entity).collections:
            value = entity.__dict__.get(prop.name)
            if isinstance(value, Collection):
                collections.append(value)
    for entity in plan.removes:
        for prop in meta_of(entity).persistent:
            target = entity.__dict__.get(prop.name)
            if prop.inverse is not None and target is not None:
                mirror = target.__dict__.get(prop.inverse.name)
                if isinstance(mirror, Collection):
                    collections.append(mirror)
    return [c for c in collections if c.is_dirty]


def _undo_insert(uow: UnitOfWork, entity: Any, generated: dict[str, Any]) -> Undo:
    """Inserted in a rolled-back block: new again, without the keys the database generated,
    and scheduled for insertion (unless it was removed since, which cancels both)."""
    meta = meta_of(entity)
    d = entity.__dict__
    before = {name: d.get(name, _MISSING) for name in generated}

    def undo() -> None:
        key = entity_key(entity, meta)
        if key is not None and uow.identity_map.get(meta.cls, key) is entity:
            uow.identity_map.discard(meta.cls, key)
        for name, value in before.items():
            if value is _MISSING:
                d.pop(name, None)
            else:
                d[name] = value
        state: EntityState = d[STATE_KEY]
        state.status = Status.NEW
        state.snapshot = None
        state.loaded = None
        if uow.remove_queue.pop(id(entity), None) is not None:
            state.uow = None
            uow.persist_queue.pop(id(entity), None)
        else:
            state.uow = uow
            uow.persist_queue[id(entity)] = entity

    return undo


def _undo_update(uow: UnitOfWork, entity: Any) -> Undo:
    """Updated in a rolled-back block: the snapshot the database matches again; the values
    stay as they are, so the changes are pending again."""
    state: EntityState = entity.__dict__[STATE_KEY]
    snapshot = state.snapshot

    def undo() -> None:
        state.snapshot = snapshot
        uow.touch(entity)

    return undo


def _undo_remove(uow: UnitOfWork, entity: Any) -> Undo:
    """Removed in a rolled-back block: managed again and scheduled for removal again."""
    meta = meta_of(entity)
    key = entity_key(entity, meta)
    d = entity.__dict__
    # The inverse OneToOne a removal clears (see UnitOfWork._forget_removed).
    one_to_one = [
        (target, prop.inverse.name)
        for prop in meta.persistent
        if prop.relation is not None
        and prop.inverse is not None
        and not prop.inverse.is_collection
        and (target := d.get(prop.name)) is not None
        and target.__dict__.get(prop.inverse.name) is entity
    ]

    def undo() -> None:
        state: EntityState = d[STATE_KEY]
        state.status = Status.MANAGED
        state.uow = uow
        if key is not None:
            uow.identity_map.add(meta.cls, key, entity)
        uow.remove_queue[id(entity)] = entity
        uow.register_managed(entity)
        for prop in meta.persistent:
            inverse, target = prop.inverse, d.get(prop.name)
            if prop.relation is not None and inverse is not None and target is not None:
                mirror = target.__dict__.get(inverse.name)
                if isinstance(mirror, Collection):
                    mirror.include(entity)
        for target, name in one_to_one:
            if target.__dict__.get(name) is None:
                target.__dict__[name] = entity
        for prop in meta.collections:
            collection = d.get(prop.name)
            if prop.relation is not RelationKind.MANY_TO_MANY or prop.inverse is None:
                continue
            if isinstance(collection, Collection):
                for item in collection.known_items:
                    mirror = item.__dict__.get(prop.inverse.name)
                    if isinstance(mirror, Collection):
                        mirror.include(entity)

    return undo


def _undo_collection(collection: Collection[Any]) -> Undo:
    """The collection's flushed changes: pending again (its items stay as they are)."""
    added, removed = collection.added, collection.removed

    def undo() -> None:
        collection.restore_pending(added, removed)

    return undo


def _undo_overwrite(uow: UnitOfWork, entity: Any, meta: EntityMetadata) -> Undo:
    """An entity of the fork that an upsert overwrote: its values and snapshot as before."""
    d = entity.__dict__
    state: EntityState = d[STATE_KEY]
    values = {p.name: d[p.name] for p in meta.persistent if p.name in d}
    snapshot, initialized, loaded = state.snapshot, state.initialized, state.loaded

    def undo() -> None:
        d.update(values)
        state.snapshot, state.initialized, state.loaded = snapshot, initialized, loaded
        uow.touch(entity)

    return undo


def _undo_load(uow: UnitOfWork, entity: Any, meta: EntityMetadata) -> Undo:
    """An entity an upsert brought into the fork: its row may no longer exist, so detach it."""

    def undo() -> None:
        key = entity_key(entity, meta)
        if key is not None and uow.identity_map.get(meta.cls, key) is entity:
            uow.identity_map.discard(meta.cls, key)
        state: EntityState = entity.__dict__[STATE_KEY]
        state.status = Status.DETACHED
        state.uow = None

    return undo
