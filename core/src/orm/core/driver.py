"""The seam between the core and a database: ``Driver``, ``Connection``, ``Platform``.

The core hands a driver query trees (:mod:`orm.core.query.ast`) and batches of changes (below)
and receives rows as ``{property name: Python value}`` dicts; to-one relations come back as
primary-key tuples of the target. Drivers own connections, transactions, savepoints, type
conversion and error translation. They are found through the ``orm.drivers`` entry-point group.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from orm.core.errors import NotSupportedError
from orm.core.metadata.keys_policy import SQL_KEY_POLICY, KeyPolicy
from orm.core.query.ast import CountQuery, LoadStrategy, SelectQuery

if TYPE_CHECKING:
    from orm.core.metadata.model import EntityMetadata, PropertyMetadata

Row = dict[str, Any]
Key = tuple[Any, ...]


class IsolationLevel(enum.Enum):
    """The isolation level of ``em.transaction(isolation_level=...)``; each driver maps it to
    its database's own (the SQL drivers to ``READ COMMITTED`` and so on)."""

    READ_UNCOMMITTED = "read_uncommitted"
    READ_COMMITTED = "read_committed"
    REPEATABLE_READ = "repeatable_read"
    SERIALIZABLE = "serializable"


@dataclass(frozen=True)
class Platform:
    """What a database can do; the core and the compliance suite read these capabilities."""

    name: str
    returning: bool = False
    transactional_ddl: bool = False
    # False: no BEGIN/COMMIT; each write is atomic on its own (see docs/transactions.md).
    transactions: bool = True
    savepoints: bool = True
    native_upsert: bool = False
    native_ilike: bool = False
    lock_modes: bool = False
    skip_locked: bool = False
    isolation_levels: tuple[IsolationLevel, ...] = ()
    native_uuid: bool = False
    native_json: bool = False
    timezone_aware_datetime: bool = False
    # Most bound parameters one statement may carry; batches are split below it.
    max_parameters: int = 32_000
    concurrent_connections: bool = True
    # ``Connection.stream`` reads a result batch by batch from an open cursor (instead of
    # keyset queries); see docs/querying.md#streaming for when em.stream uses it.
    server_side_cursors: bool = False
    # ``Connection.find_graph`` renders these loading strategies (select-in needs nothing).
    joined_loading: bool = False
    json_aggregate_loading: bool = False
    # Who generates the keys entities leave undecided (docs/drivers.md#key-policy).
    key_policy: KeyPolicy = SQL_KEY_POLICY
    # Where ManyToMany links live: False, rows of a pivot table (PivotBatch inserts and deletes
    # them); True, an array of target keys on the owning row/document, which an InsertBatch of
    # new owners carries as the relation's value (a list of key tuples) and PivotBatch adds to
    # or removes from (see docs/drivers.md#many-to-many-storage).
    link_arrays: bool = False
    # The database enforces relations: a reference to a missing row, or removing a row still
    # referenced, is a ForeignKeyViolation (False: the application's data is trusted).
    foreign_keys: bool = True
    # Entities may have composite primary keys (several columns).
    composite_keys: bool = True
    # Datetimes keep microseconds (False: the database keeps milliseconds).
    microsecond_datetimes: bool = True
    # The database speaks SQL: em.execute() runs raw SQL, em.create_query_builder() works.
    sql: bool = True
    # ``Config.replicas`` works: the core routes reads to replica pools of this driver (False:
    # the database's own client does it, e.g. MongoDB's read preference; docs/scaling.md).
    read_replicas: bool = True

    def supports(self, capability: str) -> bool:
        return bool(getattr(self, capability))


@dataclass
class InsertBatch:
    """Rows for one table with the same column set: one multi-row INSERT.

    On a platform with ``link_arrays``, ``properties`` may hold owning ManyToMany relations:
    their value in a row is the list of the linked targets' key tuples.
    """

    entity: EntityMetadata
    properties: tuple[PropertyMetadata, ...]
    rows: list[Row]
    # Properties the database fills in and must report back: auto-increment keys, and
    # properties with a server_default the entity left unset (one dict per row, in row order).
    returning: tuple[PropertyMetadata, ...] = ()


@dataclass
class UpdateBatch:
    """Rows of one table that changed the same properties: one UPDATE statement."""

    entity: EntityMetadata
    properties: tuple[PropertyMetadata, ...]
    rows: list[tuple[Key, Row]]
    # Optimistic locking: the version each row must still have (one per row, in row order),
    # for an entity with a version property; a row with another version is left alone, and the
    # count the driver returns tells the flush so. The new version is among the row's values.
    versions: list[Any] | None = None


@dataclass
class DeleteBatch:
    entity: EntityMetadata
    keys: list[Key]
    # As UpdateBatch.versions: the version each row must still have to be deleted.
    versions: list[Any] | None = None


@dataclass
class PivotBatch:
    """Rows of a ManyToMany pivot table to insert or delete: (owner key, target key) pairs."""

    prop: PropertyMetadata
    pairs: list[tuple[Key, Key]]
    delete: bool = False


@dataclass
class UpsertBatch:
    """Insert rows, or update ``update`` properties where ``conflict`` properties match."""

    entity: EntityMetadata
    properties: tuple[PropertyMetadata, ...]
    rows: list[Row]
    conflict: tuple[PropertyMetadata, ...]
    update: tuple[PropertyMetadata, ...]
    returning: tuple[PropertyMetadata, ...] = ()


@dataclass(frozen=True)
class PoolStatus:
    """A snapshot of a driver's connection pool: ``in_use`` connections are checked out,
    ``idle`` ones are open and ready. A connection that broke is no longer counted."""

    in_use: int
    idle: int

    @property
    def size(self) -> int:
        return self.in_use + self.idle


@dataclass
class ExecuteResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    rowcount: int = -1


class Connection(abc.ABC):
    """One database connection, checked out of the driver's pool."""

    @abc.abstractmethod
    async def find(self, query: SelectQuery) -> list[Row]: ...

    @abc.abstractmethod
    async def count(self, query: CountQuery) -> dict[Key, int] | int: ...

    async def find_graph(self, query: SelectQuery, strategy: LoadStrategy) -> list[Row]:
        """The rows of ``query`` with the relations of ``query.populate`` in one statement.

        Each populated relation's value in a row is its target's row (or None) for a to-one
        relation, a list of rows in ``PopulateNode.order_by`` order for a collection, nested
        the same way (see :mod:`orm.core.loading.graph`). ``limit``/``offset`` count root
        rows. Only called for the strategies the platform declares (``joined_loading``,
        ``json_aggregate_loading``).
        """
        raise NotImplementedError(f"{type(self).__name__} does not render {strategy.value}")

    def stream(self, query: SelectQuery, batch_size: int) -> AsyncIterator[list[Row]]:
        """The rows of ``query`` in batches of ``batch_size``, for ``em.stream``.

        Yields lists of rows until a batch shorter than ``batch_size`` (possibly empty), which
        is the last. Drivers whose ``Platform.server_side_cursors`` is set override this to
        read from an open cursor; ``aclose()`` (or leaving ``async with aclosing(...)``) must
        then close it. This default sends one keyset query per batch on this connection
        (``WHERE <after the previous batch's last row> ORDER BY ... LIMIT batch_size``; see
        :func:`orm.core.query.keyset.keyset_batches`): nothing stays open between batches.
        The ordering is ``query.order_by`` with NULLs placed last and the primary key appended
        (:func:`~orm.core.query.keyset.stream_order`); it may hold only scalar properties of
        the entity (a :class:`~orm.core.errors.ValidationError` says so otherwise).
        """
        from orm.core.query.keyset import keyset_batches

        return keyset_batches(self.find, query, batch_size)

    @abc.abstractmethod
    async def insert(self, batch: InsertBatch) -> list[Row]:
        """Insert the rows; return one dict of ``batch.returning`` values per row, in order."""

    @abc.abstractmethod
    async def update(self, batch: UpdateBatch) -> int: ...

    @abc.abstractmethod
    async def delete(self, batch: DeleteBatch) -> int: ...

    @abc.abstractmethod
    async def write_pivot(self, batch: PivotBatch) -> None: ...

    @abc.abstractmethod
    async def upsert(self, batch: UpsertBatch) -> list[Row]: ...

    @abc.abstractmethod
    async def begin(self, isolation_level: IsolationLevel | None = None) -> None: ...

    @abc.abstractmethod
    async def commit(self) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None: ...

    @abc.abstractmethod
    async def savepoint(self, name: str) -> None: ...

    @abc.abstractmethod
    async def release_savepoint(self, name: str) -> None: ...

    @abc.abstractmethod
    async def rollback_to_savepoint(self, name: str) -> None: ...

    async def ping(self) -> None:
        """Have the server answer a trivial request: the health check of a read replica that
        was down. Raises :class:`~orm.core.errors.ConnectionError` when it cannot answer.
        Drivers whose ``Platform.read_replicas`` is set implement it."""
        raise NotSupportedError(
            f"{type(self).__name__} cannot ping its server, so its driver cannot take "
            f"Config.replicas; implement Connection.ping (or set Platform.read_replicas=False)"
        )

    def parameters_per_update_row(self, values: int, keys: int) -> int:
        """How many parameters one row of an :class:`UpdateBatch` binds, for sizing batches
        under ``Platform.max_parameters``: ``values`` for the changed columns, ``keys`` for the
        primary-key columns. A driver whose update binds a key more than once overrides this."""
        return values + keys


@runtime_checkable
class RawStatements(Protocol):
    """A connection that runs statements written in its database's own language.

    Optional: the SQL connections implement it for ``em.execute(sql)``; a connection without
    it makes ``em.execute`` raise a ValidationError naming the driver.
    """

    async def run_raw(
        self, statement: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> ExecuteResult:
        """Run ``statement`` (``:name`` placeholders with a mapping of parameters)."""
        ...


@runtime_checkable
class Aggregations(Protocol):
    """A connection that runs aggregation pipelines, a document database's own query language.

    Optional: the MongoDB connection implements it for ``em.aggregate(Entity, pipeline)``.
    """

    async def aggregate(
        self, entity: EntityMetadata, pipeline: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """The documents ``pipeline`` yields on ``entity``'s collection, as stored."""
        ...


@runtime_checkable
class NativeCollections(Protocol):
    """A driver that hands out its database library's own collection objects.

    Optional: the MongoDB driver implements it for ``em.get_collection(Entity)``.
    """

    def native_collection(self, entity: EntityMetadata) -> Any:
        """The library's collection object of ``entity`` (PyMongo's ``AsyncCollection``)."""
        ...


class SchemaManager(abc.ABC):
    """Creates, drops and (additively) updates the schema of the discovered entities."""

    @abc.abstractmethod
    async def create(self) -> None: ...

    @abc.abstractmethod
    async def drop(self) -> None: ...

    @abc.abstractmethod
    async def update(self) -> None: ...

    @abc.abstractmethod
    async def create_commands(self) -> list[str]:
        """What :meth:`create` sends, one statement (SQL) or command per item, as text: for
        review, e.g. the CLI's ``schema:create --dump``."""

    async def refresh(self) -> None:
        """Drop and create again: a clean schema, for tests."""
        await self.drop()
        await self.create()


class Driver(abc.ABC):
    """A database back end: a pool of connections plus the knowledge of one dialect."""

    platform: Platform

    @classmethod
    @abc.abstractmethod
    def from_url(cls, url: str, **options: Any) -> Driver:
        """Build a driver from a URL and the driver-specific options of ``ORM.init``."""

    @abc.abstractmethod
    async def connect(self, entities: Sequence[EntityMetadata]) -> None:
        """Open the pool and prepare what the metadata needs (tables, statements)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def acquire(self) -> AbstractAsyncContextManager[Connection]:
        """Check a connection out of the pool for the duration of the ``async with``."""

    @property
    @abc.abstractmethod
    def schema(self) -> SchemaManager: ...

    @property
    def pool_max_size(self) -> int | None:
        """The most connections the pool opens (None: unknown). ``em.stream`` holds one for
        a server-side cursor only when the pool has room for another beside it."""
        return None

    def pool_status(self) -> PoolStatus | None:
        """How many pooled connections are in use and idle now (None: the driver does not
        tell, or is not connected). Read-only: for monitoring and leak checks."""
        return None
