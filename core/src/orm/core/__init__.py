"""orm: an async Data Mapper ORM. This package is the database-independent core."""

from orm.core.asgi import OrmLifespan, OrmMiddleware, get_em, orm_lifespan
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
    FlushValidationError,
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
    ValidationProblem,
)
from orm.core.events import (
    ChangeSet,
    EventArgs,
    Events,
    EventSubscriber,
    FlushEventArgs,
    TransactionEventArgs,
    UpsertEventArgs,
)
from orm.core.metadata.dynamic_defaults import default
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
from orm.core.propagation import Propagation
from orm.core.query.ast import LoadStrategy, LockMode
from orm.core.query.prune import PRUNE, Prune
from orm.core.replicas import Replica, ReplicaStatus
from orm.core.repository import EntityRepository
from orm.core.retry import retry_transaction
from orm.core.schemas import schema_of
from orm.core.serialization import to_dict, to_json
from orm.core.urls import redact_url

__all__ = [
    "ORM",
    "PRUNE",
    "Cascade",
    "ChangeSet",
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
    "EventArgs",
    "EventSubscriber",
    "Events",
    "ExecuteResult",
    "FlushEventArgs",
    "FlushValidationError",
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
    "OrmLifespan",
    "OrmMiddleware",
    "PivotBatch",
    "Platform",
    "PoolTimeoutError",
    "PrimaryKey",
    "Propagation",
    "Property",
    "PropertyMetadata",
    "Prune",
    "ReadOnlyError",
    "RelationKind",
    "Replica",
    "ReplicaStatus",
    "ScalarKind",
    "SchemaManager",
    "TransactionConflictError",
    "TransactionEventArgs",
    "Unique",
    "UniqueConstraintViolation",
    "UpdateBatch",
    "UpsertBatch",
    "UpsertEventArgs",
    "ValidationError",
    "ValidationProblem",
    "default",
    "entity",
    "get_em",
    "orm_lifespan",
    "redact_url",
    "retry_transaction",
    "schema_of",
    "to_dict",
    "to_json",
]
