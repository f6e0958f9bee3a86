"""``em.lock``: optimistic locks by version, pessimistic ones by a locking read.

An optimistic lock needs no query: the entity's loaded version either is the one the caller
expects (say, the version a form was rendered with) or it is not, and every flush checks the
loaded version against the row anyway (orm.core.unit_of_work.versions).
"""

from __future__ import annotations

from typing import Any

from orm.core.errors import OptimisticLockError, ValidationError
from orm.core.keys import entity_key
from orm.core.metadata.model import EntityMetadata
from orm.core.state import meta_of
from orm.core.unit_of_work.versions import stale_error


def require_version(meta: EntityMetadata, action: str) -> None:
    """``action`` is an optimistic lock: ``meta`` must have a version property."""
    if meta.version_property is None:
        raise ValidationError(
            f"{action}: {meta.class_name} has no version property, so it cannot be locked "
            f"optimistically; declare one (`version: int = Property(version=True)`)"
        )


def check_version(entity: Any, expected: Any) -> None:
    """Raise :class:`OptimisticLockError` unless ``entity`` was loaded at version ``expected``."""
    meta = meta_of(entity)
    require_version(meta, f"lock({meta.class_name}, LockMode.OPTIMISTIC)")
    prop = meta.version_property
    assert prop is not None
    loaded = entity.__dict__.get(prop.name)
    if expected is None:
        raise ValidationError(
            f"lock({meta.class_name}, LockMode.OPTIMISTIC) needs the version to expect: pass "
            f"version=... (for instance the version a form was rendered with)"
        )
    if loaded != expected:
        key = entity_key(entity, meta) or ()
        error: OptimisticLockError = stale_error(
            meta, key, expected, loaded, gone=False, in_flush=False
        )
        raise error
