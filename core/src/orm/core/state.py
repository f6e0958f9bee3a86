"""Per-instance bookkeeping that orm keeps beside the user's own attributes."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orm.core.metadata.model import EntityMetadata
    from orm.core.unit_of_work.uow import UnitOfWork

META_KEY = "__orm_meta__"

STATE_KEY = "__orm_state__"


class Status(enum.Enum):
    NEW = "new"  # created in memory, not in the database yet
    MANAGED = "managed"  # loaded from or flushed to the database, tracked by an EntityManager
    REMOVED = "removed"  # deleted by a flush
    DETACHED = "detached"  # cleared from its EntityManager


class EntityState:
    """Lives in the instance's ``__dict__`` under :data:`STATE_KEY`.

    ``snapshot`` holds the persistent values as last read from or written to the database;
    ``initialized`` is False for a reference that knows only its primary key.
    """

    __slots__ = ("hint", "initialized", "loaded", "snapshot", "status", "uow")

    def __init__(self) -> None:
        self.status = Status.NEW
        self.uow: UnitOfWork | None = None
        self.snapshot: dict[str, Any] | None = None
        self.initialized = True
        # Where an unloaded reference was reached from ("Book.author"), for NotLoadedError.
        self.hint: str | None = None
        # The persistent properties a partial load (fields=/exclude=) read; None: all of them.
        self.loaded: frozenset[str] | None = None


def state_of(entity: object) -> EntityState:
    """The orm state of an entity instance; raises ``TypeError`` for non-entities."""
    try:
        state: EntityState = entity.__dict__[STATE_KEY]
    except (KeyError, AttributeError):
        raise TypeError(
            f"{type(entity).__name__} instance is not an entity; decorate the class with @entity"
        ) from None
    return state


def meta_of(entity_or_class: object) -> EntityMetadata:
    """The discovered metadata of an entity instance or class."""
    cls = entity_or_class if isinstance(entity_or_class, type) else type(entity_or_class)
    meta: EntityMetadata | None = getattr(cls, META_KEY, None)
    if meta is None:
        from orm.core.errors import MetadataError

        raise MetadataError(
            f"{cls.__name__} is not a discovered entity: decorate it with @entity and list it in "
            f"ORM.init(entities=[...])"
        )
    return meta
