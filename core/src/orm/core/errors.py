"""Every error orm raises, in one portable hierarchy.

Drivers translate their native exceptions into these, so application code never catches an
``asyncpg``, ``sqlite3`` or ``pymongo`` exception::

    ORMError
    ├── MetadataError               entity definitions are wrong (raised at ORM.init)
    ├── ValidationError             a filter, option or value is wrong (raised before any I/O)
    │   ├── FlushValidationError    values a flush would write break their rules (.problems)
    │   └── NotSupportedError       valid, but this database cannot run it (a declared limit)
    ├── NotFoundError               find_one_or_fail found nothing
    ├── NotLoadedError              a reference or collection was read before it was loaded
    ├── EntityStateError            an entity is used with the wrong EntityManager or state
    │   └── ReadOnlyError           a write through a read-only fork (em.fork(read_only=True))
    ├── CommitOrderError            a cycle of non-nullable foreign keys cannot be ordered
    ├── ConfigurationError          ORM.init was given settings it cannot use
    │   └── DriverNotInstalledError the URL names a driver whose package is missing
    ├── OptimisticLockError         a versioned row changed underneath (optimistic locking)
    └── DriverError                 the database reported an error
        ├── ConnectionError         the database cannot be reached or the connection broke
        │   └── PoolTimeoutError    no connection became free in time
        ├── ConstraintViolation
        │   ├── UniqueConstraintViolation
        │   ├── ForeignKeyViolation
        │   ├── NotNullViolation
        │   └── CheckConstraintViolation
        ├── LockWaitError           a row lock could not be taken (NOWAIT) or waited too long
        ├── TransactionConflictError  a concurrent transaction wrote the same data: retry it
        │   └── DeadlockError
        └── SyntaxError             the database rejected the SQL (usually raw SQL from execute())

Every message says what happened, names the entity, property, table or constraint involved,
and says what to do about it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = [
    "CheckConstraintViolation",
    "CommitOrderError",
    "ConfigurationError",
    "ConnectionError",
    "ConstraintViolation",
    "DeadlockError",
    "DriverError",
    "DriverNotInstalledError",
    "EntityStateError",
    "FlushValidationError",
    "ForeignKeyViolation",
    "LockWaitError",
    "MetadataError",
    "NotFoundError",
    "NotLoadedError",
    "NotNullViolation",
    "NotSupportedError",
    "ORMError",
    "OptimisticLockError",
    "PoolTimeoutError",
    "ReadOnlyError",
    "SyntaxError",
    "TransactionConflictError",
    "UniqueConstraintViolation",
    "ValidationError",
]


class ORMError(Exception):
    """Base class of every error raised by orm."""


class MetadataError(ORMError):
    """An entity definition is invalid; raised by discovery at ``ORM.init``."""


class ValidationError(ORMError):
    """A filter, option or value is invalid; raised before anything is sent to the database."""


class ValidationProblem(NamedTuple):
    """One problem of a :class:`FlushValidationError`."""

    entity: str  # the entity class name
    key: Any  # the primary key ("new" for an entity not inserted yet, None for an upsert row)
    property: str | None  # None: an entity-level validator (@entity(validators=[...]))
    reason: str  # what is wrong, as the message says it


class FlushValidationError(ValidationError):
    """The values a flush (or an upsert) would write break their rules: a required value is
    missing, a value has the wrong type or does not fit its column, or a declared rule or
    validator refuses it (docs/validation.md). Every problem of the flush is in the message and
    in ``problems``; nothing was sent and the EntityManager was left as it was."""

    def __init__(self, message: str, problems: list[ValidationProblem]) -> None:
        super().__init__(message)
        self.problems = problems


class NotSupportedError(ValidationError):
    """A valid filter, option or value that this database cannot run or store: a declared limit
    of its driver, listed on the driver's page under docs/drivers/ (e.g. savepoints on
    MongoDB). Raised before the database receives the request; the message names what to do
    instead."""


class NotFoundError(ORMError):
    """``find_one_or_fail`` (or a repository's equivalent) found no row."""

    def __init__(self, message: str, *, entity: str) -> None:
        super().__init__(message)
        self.entity = entity


class NotLoadedError(ORMError):
    """A reference's field or a collection's items were read before they were loaded."""


class EntityStateError(ORMError):
    """An entity was used in a way its state does not allow (e.g. with another fork)."""


class ReadOnlyError(EntityStateError):
    """A write (persist, remove, flush, upsert, a query-builder write) was attempted through a
    read-only fork, ``em.fork(read_only=True)``; nothing was sent."""


class CommitOrderError(ORMError):
    """The entities to insert form a cycle of non-nullable foreign keys."""


class ConfigurationError(ORMError):
    """``ORM.init`` received settings it cannot use."""


class DriverNotInstalledError(ConfigurationError):
    """The URL's scheme names a driver whose package is not installed."""


class OptimisticLockError(ORMError):
    """A versioned row was changed by someone else since it was loaded.

    ``entity`` is the entity class name, ``key`` the primary key, ``expected`` the version this
    fork loaded and ``current`` the version now in the database (None when the row is gone, or
    when it was not read). A flush that raises it wrote nothing; reload and apply the change
    again (docs/entities.md, "Optimistic locking").
    """

    def __init__(
        self, message: str, *, entity: str, key: tuple[Any, ...], expected: Any, current: Any
    ) -> None:
        super().__init__(message)
        self.entity = entity
        self.key = key
        self.expected = expected
        self.current = current


class DriverError(ORMError):
    """The database reported an error. ``__cause__`` holds the native exception."""

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        constraint: str | None = None,
        columns: tuple[str, ...] = (),
        sql: str | None = None,
    ) -> None:
        super().__init__(message)
        self.table = table
        self.constraint = constraint
        self.columns = columns
        self.sql = sql


class ConnectionError(DriverError):
    """The database cannot be reached, or a connection broke during use."""


class PoolTimeoutError(ConnectionError):
    """Every pooled connection stayed busy for longer than the acquire timeout."""


class ConstraintViolation(DriverError):
    """A constraint of the database rejected a write."""


class UniqueConstraintViolation(ConstraintViolation):
    """A row with the same value(s) in a unique column (or primary key) already exists."""


class ForeignKeyViolation(ConstraintViolation):
    """A foreign key points to a missing row, or a referenced row is still in use."""


class NotNullViolation(ConstraintViolation):
    """A NOT NULL column received no value."""


class CheckConstraintViolation(ConstraintViolation):
    """A CHECK constraint rejected a value."""


class LockWaitError(DriverError):
    """A row lock could not be taken at once (NOWAIT) or the lock wait timed out."""


class TransactionConflictError(DriverError):
    """A concurrent transaction changed the same data first (a write conflict, a serialization
    failure or a deadlock); nothing of this transaction was kept: run it again."""


class DeadlockError(TransactionConflictError):
    """The database chose this transaction as the victim of a deadlock; retry it."""


class SyntaxError(DriverError):
    """The database rejected the SQL text, usually raw SQL passed to ``execute``."""
