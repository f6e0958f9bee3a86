"""orm: an async Data Mapper ORM. This package is the database-independent core."""

from orm.core.collection import Collection
from orm.core.cursor import Cursor
from orm.core.driver import (
    Connection,
    DeleteBatch,
    Driver,
    ExecuteResult,
    InsertBatch,
    IsolationLevel,
    PivotBatch,
    Platform,
    SchemaManager,
    UpdateBatch,
    UpsertBatch,
)
from orm.core.entity_manager import EntityManager
from orm.core.errors import (
    CheckConstraintViolation,
    CommitOrderError,
    ConfigurationError,
    ConstraintViolation,
    DeadlockError,
    DriverError,
    DriverNotInstalledError,
    EntityStateError,
    ForeignKeyViolation,
    LockWaitError,
    MetadataError,
    NotFoundError,
    NotLoadedError,
    NotNullViolation,
    NotSupportedError,
    OptimisticLockError,
    ORMError,
    PoolTimeoutError,
    ReadOnlyError,
    TransactionConflictError,
    UniqueConstraintViolation,
    ValidationError,
)
from orm.core.metadata.entity import entity
from orm.core.metadata.fields import (
    ManyToMany,
    ManyToOne,
    OneToMany,
    OneToOne,
    PrimaryKey,
    Property,
)
from orm.core.metadata.indexes import Index, Unique
from orm.core.metadata.keys_policy import KeyPolicy
from orm.core.metadata.model import (
    Cascade,
    EntityMetadata,
    PropertyMetadata,
    RelationKind,
    ScalarKind,
)
from orm.core.metadata.naming import NamingStrategy
from orm.core.orm import ORM, Config
from orm.core.query.ast import LoadStrategy, LockMode
from orm.core.replicas import Replica, ReplicaStatus
from orm.core.repository import EntityRepository
from orm.core.retry import retry_transaction
from orm.core.urls import redact_url

__all__ = [
    "ORM",
    "Cascade",
    "CheckConstraintViolation",
    "Collection",
    "CommitOrderError",
    "Config",
    "ConfigurationError",
    "Connection",
    "ConstraintViolation",
    "Cursor",
    "DeadlockError",
    "DeleteBatch",
    "Driver",
    "DriverError",
    "DriverNotInstalledError",
    "EntityManager",
    "EntityMetadata",
    "EntityRepository",
    "EntityStateError",
    "ExecuteResult",
    "ForeignKeyViolation",
    "Index",
    "InsertBatch",
    "IsolationLevel",
    "KeyPolicy",
    "LoadStrategy",
    "LockMode",
    "LockWaitError",
    "ManyToMany",
    "ManyToOne",
    "MetadataError",
    "NamingStrategy",
    "NotFoundError",
    "NotLoadedError",
    "NotNullViolation",
    "NotSupportedError",
    "ORMError",
    "OneToMany",
    "OneToOne",
    "OptimisticLockError",
    "PivotBatch",
    "Platform",
    "PoolTimeoutError",
    "PrimaryKey",
    "Property",
    "PropertyMetadata",
    "ReadOnlyError",
    "RelationKind",
    "Replica",
    "ReplicaStatus",
    "ScalarKind",
    "SchemaManager",
    "TransactionConflictError",
    "Unique",
    "UniqueConstraintViolation",
    "UpdateBatch",
    "UpsertBatch",
    "ValidationError",
    "entity",
    "redact_url",
    "retry_transaction",
]
