"""Rows to entities, through the identity map. Never calls ``__init__``.

The rule (see docs/unit-of-work.md): a row never overwrites an entity that is already loaded in
the fork; it only fills unloaded references. ``em.refresh()`` is the way to re-read a row.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from orm.core.collection import Collection
from orm.core.keys import Key
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, ScalarKind
from orm.core.state import STATE_KEY, EntityState, Status
from orm.core.unit_of_work.snapshot import take_snapshot

if TYPE_CHECKING:
    from orm.core.unit_of_work.uow import UnitOfWork


def row_key(meta: EntityMetadata, row: dict[str, Any]) -> Key:
    parts: list[Any] = []
    for prop in meta.primary_keys:
        value = row[prop.name]
        if prop.relation is not None:
            parts.extend(value)
        else:
            parts.append(value)
    return tuple(parts)


class Hydrator:
    """Creates and fills entities for one Unit of Work."""

    __slots__ = ("_uow",)

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def _new_instance(self, meta: EntityMetadata, *, initialized: bool) -> Any:
        entity = object.__new__(meta.cls)
        state = EntityState()
        state.status = Status.MANAGED
        state.uow = self._uow
        state.initialized = initialized
        entity.__dict__[STATE_KEY] = state
        for prop in meta.collections:
            entity.__dict__[prop.name] = Collection(entity, prop.name, initialized=False)
        return entity

    def reference(self, meta: EntityMetadata, key: Key, *, hint: str | None = None) -> Any:
        """The managed entity with ``key``, or an unloaded reference that knows only its key."""
        existing = self._uow.identity_map.get(meta.cls, key)
        if existing is not None:
            return existing
        entity = self._new_instance(meta, initialized=False)
        entity.__dict__[STATE_KEY].hint = hint
        self._assign_key(entity, meta, key)
        entity.__dict__[STATE_KEY].snapshot = take_snapshot(entity, meta)
        self._uow.identity_map.add(meta.cls, key, entity)
        return entity

    def _assign_key(self, entity: Any, meta: EntityMetadata, key: Key) -> None:
        offset = 0
        d = entity.__dict__
        for prop in meta.primary_keys:
            width = len(prop.columns)
            chunk = key[offset : offset + width]
            offset += width
            if prop.target is not None:
                d[prop.name] = self.reference(prop.target, tuple(chunk), hint=prop.path)
            else:
                d[prop.name] = chunk[0]

    def hydrate(self, meta: EntityMetadata, row: dict[str, Any]) -> Any:
        """The entity for ``row``: the managed one if loaded, else filled from the row."""
        key = row_key(meta, row)
        entity = self._uow.identity_map.get(meta.cls, key)
        if entity is None:
            entity = self._new_instance(meta, initialized=True)
            self._fill(entity, meta, row, overwrite=True)
            self._uow.identity_map.add(meta.cls, key, entity)
            return entity
        state: EntityState = entity.__dict__[STATE_KEY]
        if not state.initialized or state.loaded is not None:
            # A reference becomes loaded, or a partial entity gains fields; values already
            # present (assigned by the user or loaded before) are kept.
            self._fill(entity, meta, row, overwrite=False)
            state.initialized = True
        return entity

    def refresh(self, entity: Any, meta: EntityMetadata, row: dict[str, Any]) -> None:
        """Overwrite ``entity`` with ``row`` (``em.refresh``): unflushed changes are dropped."""
        self._fill(entity, meta, row, overwrite=True)
        entity.__dict__[STATE_KEY].initialized = True

    def _fill(
        self, entity: Any, meta: EntityMetadata, row: dict[str, Any], *, overwrite: bool
    ) -> None:
        d = entity.__dict__
        snapshot: dict[str, Any] = {}
        for prop in meta.persistent:
            if prop.name not in row:
                continue
            value = self._value(prop, row[prop.name])
            if overwrite or prop.name not in d:
                d[prop.name] = value
            snapshot[prop.name] = value
            inverse = prop.inverse
            if (
                value is not None
                and prop.is_owning_to_one
                and inverse is not None
                and not inverse.is_collection
            ):
                # A unique foreign key also tells the inverse OneToOne its value.
                value.__dict__.setdefault(inverse.name, entity)
        state: EntityState = d[STATE_KEY]
        fresh = take_snapshot_from(snapshot, meta)
        if overwrite or state.snapshot is None:
            state.snapshot = fresh
            read = set(fresh)
        else:
            state.snapshot = {**state.snapshot, **fresh}
            previous = state.loaded if state.loaded is not None else set(state.snapshot)
            read = set(fresh) | set(previous)
        state.loaded = None if len(read) >= len(meta.persistent) else frozenset(read)

    def _value(self, prop: PropertyMetadata, raw: Any) -> Any:
        if prop.target is None or raw is None:
            return raw
        return self.reference(prop.target, tuple(raw), hint=prop.path)


def take_snapshot_from(values: dict[str, Any], meta: EntityMetadata) -> dict[str, Any]:
    """A snapshot of freshly read values (JSON values copied so later edits show as changes)."""
    for prop in meta.persistent:
        if prop.kind is ScalarKind.JSON and values.get(prop.name) is not None:
            values[prop.name] = copy.deepcopy(values[prop.name])
    return values
