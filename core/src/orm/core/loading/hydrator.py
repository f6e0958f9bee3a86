"""Rows to entities, through the identity map. Never calls ``__init__``.

The rule (see docs/unit-of-work.md): a row never overwrites an entity that is already loaded in
the fork; it only fills unloaded references. ``em.refresh()`` is the way to re-read a row.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from orm.core.collection import Collection
from orm.core.errors import EntityStateError
from orm.core.events import run_build_hook
from orm.core.keys import Key
from orm.core.metadata.model import EntityMetadata, ScalarKind
from orm.core.state import STATE_KEY, EntityState, Status
from orm.core.unit_of_work.snapshot import changed_properties, take_snapshot

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

    __slots__ = ("_steps", "_uow", "_with_hooks")

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._steps: dict[int, tuple[EntityMetadata, list[_FillStep]]] = {}
        # Whether any entity class has lifecycle hooks (else loading skips looking for them).
        self._with_hooks = uow.connections.orm.events.hooks

    def _fill_steps(self, meta: EntityMetadata) -> list[_FillStep]:
        """Per property: its name, its target for a to-one relation, and the inverse
        OneToOne a unique foreign key also sets; worked out once per entity class."""
        cached = self._steps.get(id(meta))
        if cached is not None and cached[0] is meta:
            return cached[1]
        steps: list[_FillStep] = []
        for prop in meta.persistent:
            inverse = prop.inverse
            sets_inverse = (
                inverse.name
                if prop.is_owning_to_one and inverse is not None and not inverse.is_collection
                else None
            )
            steps.append((prop.name, prop.target, prop.path, sets_inverse))
        self._steps[id(meta)] = (meta, steps)
        return steps

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
            if self._with_hooks:
                self._loaded(entity)
            return entity
        state: EntityState = entity.__dict__[STATE_KEY]
        if not state.initialized or state.loaded is not None:
            # A reference becomes loaded, or a partial entity gains fields; values already
            # present (assigned by the user or loaded before) are kept.
            first_load = not state.initialized
            self._fill(entity, meta, row, overwrite=False)
            state.initialized = True
            if first_load and self._with_hooks:
                self._loaded(entity)
        return entity

    def _loaded(self, entity: Any) -> None:
        """An entity got its row for the first time: ``on_init``, then ``on_load``."""
        em = self._uow.em
        run_build_hook(entity, "on_init", em)
        run_build_hook(entity, "on_load", em)

    def refresh(self, entity: Any, meta: EntityMetadata, row: dict[str, Any]) -> None:
        """Overwrite ``entity`` with ``row`` (``em.refresh``): unflushed changes are dropped."""
        self._fill(entity, meta, row, overwrite=True)
        entity.__dict__[STATE_KEY].initialized = True

    def hydrate_fresh(self, meta: EntityMetadata, rows: list[dict[str, Any]]) -> list[Any]:
        """The entities of ``rows``, with entities already in the fork overwritten by them.

        For locking reads and ``refresh=True``: the rows are newer than the fork. An entity with
        unflushed changes to a column of the row would lose them (or, kept, they would be
        based on stale values), so that is an :class:`EntityStateError`, raised before any
        entity is changed.
        """
        existing = []
        for row in rows:
            entity = self._uow.identity_map.get(meta.cls, row_key(meta, row))
            if entity is not None and entity.__dict__[STATE_KEY].initialized:
                existing.append((entity, row))
        for entity, row in existing:
            pending = [
                name for name in changed_properties(entity, meta, _snapshot(entity)) if name in row
            ]
            if pending:
                raise EntityStateError(
                    f"{meta.class_name} {row_key(meta, row)!r} has unflushed changes to "
                    f"{', '.join(sorted(pending))}, and this read (a locking read or "
                    f"refresh=True) would overwrite them with the stored row. Flush the changes "
                    f"first, or drop them with `await em.refresh(entity)`, then read again"
                )
        entities = [self.hydrate(meta, row) for row in rows]
        for entity, row in existing:
            self.refresh(entity, meta, row)
        return entities

    def _fill(
        self, entity: Any, meta: EntityMetadata, row: dict[str, Any], *, overwrite: bool
    ) -> None:
        d = entity.__dict__
        snapshot: dict[str, Any] = {}
        reference = self.reference
        for name, target, path, sets_inverse in self._fill_steps(meta):
            if name not in row:
                continue
            value = row[name]
            if target is not None and value is not None:
                value = reference(target, tuple(value), hint=path)
                if sets_inverse is not None:
                    # A unique foreign key also tells the inverse OneToOne its value.
                    value.__dict__.setdefault(sets_inverse, entity)
            if overwrite or name not in d:
                d[name] = value
            snapshot[name] = value
        state: EntityState = d[STATE_KEY]
        fresh = take_snapshot_from(snapshot, meta) if meta.has_mutable else snapshot
        if state.snapshot is None:
            state.snapshot = fresh
            read = set(fresh)
        else:
            # A partial row (fields=) overwrites only its own columns: the others keep the
            # values and snapshot they had.
            state.snapshot = {**state.snapshot, **fresh}
            previous = state.loaded if state.loaded is not None else set(state.snapshot)
            read = set(fresh) | set(previous)
        state.loaded = None if len(read) >= len(meta.persistent) else frozenset(read)


# (property name, target of a to-one relation, "Class.property", inverse OneToOne to set)
_FillStep = tuple[str, EntityMetadata | None, str, str | None]


def take_snapshot_from(values: dict[str, Any], meta: EntityMetadata) -> dict[str, Any]:
    """A snapshot of freshly read values (JSON values copied so later edits show as changes)."""
    for prop in meta.persistent:
        if prop.kind is ScalarKind.JSON and values.get(prop.name) is not None:
            values[prop.name] = copy.deepcopy(values[prop.name])
    return values


def _snapshot(entity: Any) -> dict[str, Any]:
    return entity.__dict__[STATE_KEY].snapshot or {}
