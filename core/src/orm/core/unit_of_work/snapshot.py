"""Snapshots of persistent values, and the comparison that finds what changed."""

from __future__ import annotations

import copy
from typing import Any

from orm.core.metadata.model import EntityMetadata, ScalarKind


def take_snapshot(entity: object, meta: EntityMetadata) -> dict[str, Any]:
    """The persistent values present on ``entity``; JSON values are deep-copied."""
    d = entity.__dict__
    snapshot: dict[str, Any] = {}
    for prop in meta.persistent:
        if prop.name in d:
            value = d[prop.name]
            if prop.kind is ScalarKind.JSON and value is not None:
                value = copy.deepcopy(value)
            snapshot[prop.name] = value
    return snapshot


def changed_properties(
    entity: object, meta: EntityMetadata, snapshot: dict[str, Any]
) -> dict[str, Any]:
    """Persistent properties whose value differs from the snapshot: ``{name: new value}``.

    Relations compare by identity (the identity map makes that exact); scalars by equality,
    with ``type`` checked too so that ``True`` replacing ``1`` counts as a change.
    """
    d = entity.__dict__
    changes: dict[str, Any] = {}
    missing = _MISSING
    for prop in meta.persistent:
        name = prop.name
        value = d.get(name, missing)
        if value is missing:
            continue
        old = snapshot.get(name, missing)
        if prop.relation is not None:
            if old is not value:
                changes[name] = value
        elif old is not value and (old is missing or type(old) is not type(value) or old != value):
            # ``old is value`` first: a NaN read from the database is not equal to itself but
            # is unchanged (and the flush's value checks would refuse to write it back).
            changes[name] = value
    return changes


_MISSING: Any = object()
