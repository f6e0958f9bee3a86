"""The EntityManager: the per-request entry point (identity map + unit of work + queries)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from orm.core import assign as _assign
from orm.core import finders as _finders
from orm.core import locking as _locking
from orm.core import serialization as _serialization
from orm.core import upsert as _upsert
from orm.core.collection import Collection
from orm.core.connections import Connections
from orm.core.driver import Aggregations, Connection, ExecuteResult, NativeCollections
from orm.core.errors import EntityStateError, NotFoundError, NotSupportedError, ValidationError
from orm.core.keys import normalize_key
from orm.core.loading.populate import StrategyName, parse_populate
from orm.core.query.ast import LockMode, SelectQuery
from orm.core.query.filter import is_entity, parse_filter
from orm.core.query.options import lock_mode
from orm.core.reads import ReadScope
from orm.core.repository import EntityRepository
from orm.core.routing import ConnectionType, check_connection_type
from orm.core.serialization_plan import ShapeHint
from orm.core.state import Status, meta_of, state_of
from orm.core.transactions import Transaction
from orm.core.unit_of_work.uow import UnitOfWork

if TYPE_CHECKING:
    from orm.core.orm import ORM

T = TypeVar("T")


class EntityManager(ReadScope):
    """One unit of work: use a fresh fork per request (``orm.em.fork()``).

    It keeps one object per row (the identity map), tracks changes to what it loaded or
    persisted, and writes them all in one transaction on :meth:`flush`.
    """

    def __init__(self, orm: ORM, *, is_global: bool = False, read_only: bool = False) -> None:
        self.orm = orm
        self._global = is_global
        # The collaborators, each handed what it needs so calls point down: the connection
        # router, and the Unit of Work (identity map, hydrator, loader, flush).
        self.connections = Connections(orm, self._usable, read_only=read_only, em=self)
        self.unit_of_work = UnitOfWork(self, self.connections, dataloader=orm.config.dataloader)

    def fork(self, *, read_only: bool = False) -> EntityManager:
        """A new, empty EntityManager on the same ORM: one per request or unit of work.

        ``read_only=True`` gives a fork that refuses every write with a ReadOnlyError and
        reads from the read replicas when there are some (docs/scaling.md#read-replicas).
        """
        if not isinstance(read_only, bool):
            raise ValidationError(f"fork(read_only=...) takes True or False, got {read_only!r}")
        return EntityManager(self.orm, read_only=read_only)

    @property
    def read_only(self) -> bool:
        """True for a fork made by ``fork(read_only=True)``."""
        return self.connections.read_only

    def fork_on(self, connection: Connection) -> EntityManager:
        """A fork that reads and flushes on ``connection``, inside the transaction open on it.

        For code that owns a connection and its transaction (a migration's data step): flushes
        use savepoints on it and never commit; the owner commits or rolls back.
        """
        em = EntityManager(self.orm)
        em.connections.current = Transaction(connection)
        return em

    def _usable(self) -> None:
        if self._global:
            raise EntityStateError(
                "orm.em is the global EntityManager and cannot load or track entities, because "
                "its identity map would be shared by every request. Call orm.em.fork() once per "
                "request or unit of work and use that fork"
            )

    # -- reading (the find family is in orm.core.reads) ----------------------------------

    async def find_or_create(
        self,
        entity: type[T],
        where: Mapping[str, Any],
        *,
        defaults: Mapping[str, Any] | None = None,
    ) -> T:
        """The entity whose properties equal ``where``: a new or managed one of this fork
        first (so two calls never create two), then one from the database; else a new one
        made of ``where`` and ``defaults``, persisted for the next flush. docs/querying.md."""
        self._usable()
        return await _finders.find_or_create(self, entity, where, defaults=defaults)

    async def find_with_new_or_changed(
        self,
        entity: type[T],
        where: Any = None,
        *,
        populate: Sequence[str] = (),
        order_by: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        strategy: StrategyName | None = None,
        connection: ConnectionType | None = None,
    ) -> list[T]:
        """:meth:`find`, plus the fork's new entities that match ``where`` and its changed
        ones that now match, minus changed ones that no longer match and removed ones; sorted
        in memory by ``order_by``. docs/querying.md#finders-that-see-the-unit-of-work."""
        self._usable()
        return await _finders.find_with_new_or_changed(
            self,
            entity,
            where,
            populate=populate,
            order_by=order_by,
            limit=limit,
            offset=offset,
            strategy=strategy,
            connection=connection,
        )

    def get_reference(self, entity: type[T], key: Any) -> T:
        """The managed entity with this key, or a reference that knows only its key (no query)."""
        self._usable()
        meta = meta_of(entity)
        normalized = normalize_key(meta, key, where=f"get_reference({meta.class_name})")
        reference: T = self.unit_of_work.hydrator.reference(meta, normalized)
        return reference

    async def load(self, entity: T) -> T:
        """The entity with its values loaded: a reference (``book.author`` before it was
        loaded) is read by key; a loaded entity comes back as it is, without a query.

        Loads started in the same tick share one query per entity class, so
        ``await asyncio.gather(*(em.load(b.author) for b in books))`` sends one SELECT.
        """
        self._usable()
        state = state_of(entity)
        if state.uow is not self.unit_of_work or state.status is not Status.MANAGED:
            raise EntityStateError(
                f"cannot load this {type(entity).__name__}: it is not managed by this "
                f"EntityManager ({state.status.value}); load it through this fork first"
            )
        if state.initialized:
            return entity
        meta = meta_of(entity)
        key = normalize_key(meta, entity, where=f"load({meta.class_name})")
        if await self.unit_of_work.loader.find_by_key(meta, key) is None:
            raise NotFoundError(
                f"{meta.class_name} {key!r} is referenced but no longer exists in the database",
                entity=meta.class_name,
            )
        return entity

    async def populate(self, entities: T | Sequence[T], paths: Sequence[str]) -> None:
        """Load relation paths (``"books.tags"``) of already loaded entities, one query a level."""
        self._usable()
        items: list[Any] = list(entities) if isinstance(entities, Sequence) else [entities]
        if not items:
            return
        for item in items:
            self._check_managed(item, "populate")
        await self.unit_of_work.loader.populate(items, parse_populate(meta_of(items[0]), paths))

    @overload
    async def serialize(  # type: ignore[overload-overlap]  # a list is an object too
        self,
        entities: list[Any] | tuple[Any, ...] | Collection[Any],
        shape: ShapeHint = (),
        *,
        exclude: ShapeHint = (),
    ) -> list[dict[str, Any]]: ...
    @overload
    async def serialize(
        self, entities: object, shape: ShapeHint = (), *, exclude: ShapeHint = ()
    ) -> dict[str, Any]: ...
    async def serialize(
        self, entities: object, shape: ShapeHint = (), *, exclude: ShapeHint = ()
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """Serialize with a shape hint (``{"books": {"tags": True}}`` or ``["books.tags"]``):
        what the shape needs and is not loaded is loaded first, one query per relation and
        level for all the entities together (docs/serialization.md)."""
        self._usable()
        result: dict[str, Any] | list[dict[str, Any]] = await _serialization.serialize(
            self, entities, shape, exclude
        )
        return result

    async def refresh(self, entity: T) -> T:
        """Re-read the entity's row (from the primary), dropping its unflushed changes;
        NotFoundError if gone."""
        self._usable()
        self._check_managed(entity, "refresh")
        meta = meta_of(entity)
        key = normalize_key(meta, entity, where=f"refresh({meta.class_name})")
        query = SelectQuery(meta, parse_filter(meta, key))
        # The row as it is now: from the primary, never a replica that may lag.
        rows = await self.connections.read(
            lambda connection: connection.find(query), connection="write"
        )
        if not rows:
            raise NotFoundError(
                f"{meta.class_name} {key!r} no longer exists in the database",
                entity=meta.class_name,
            )
        self.unit_of_work.hydrator.refresh(entity, meta, rows[0])
        self.unit_of_work.touched.pop(id(entity), None)
        return entity

    def _check_managed(self, entity: Any, action: str) -> None:
        state = state_of(entity)
        if state.uow is not self.unit_of_work or state.status is not Status.MANAGED:
            raise EntityStateError(
                f"cannot {action} this {type(entity).__name__}: it is not managed by this "
                f"EntityManager ({state.status.value}); load it in this fork first"
            )

    # -- writing ---------------------------------------------------------------------------

    def create(self, entity: type[T], data: Mapping[str, Any] | Any) -> T:
        """A new entity from a dict (unknown keys are an error), persisted with the next flush.

        ``data`` may be a pydantic model (e.g. of ``schema_of(entity)``): its fields that
        were set are used."""
        self._usable()
        self.connections.check_writable(f"create({entity.__name__})")
        created: T = _assign.create(self, meta_of(entity), data)
        return created

    def assign(self, entity: T, data: Mapping[str, Any] | Any) -> T:
        """Set properties from a dict (unknown keys are an error); returns the entity.

        ``data`` may be a pydantic model: only its fields that were set are assigned (a PATCH
        payload of ``schema_of(Entity, partial=True)``)."""
        self._usable()
        _assign.assign(self, entity, data)
        return entity

    def persist(self, entity: object | Sequence[object]) -> None:
        """Mark new entities to be inserted by the next flush (cascades along relations)."""
        self._usable()
        self.connections.check_writable("persist()")
        for item in _many(entity):
            self.unit_of_work.persist(item)

    def remove(self, entity: object | Sequence[object]) -> None:
        """Mark entities to be deleted by the next flush (cascades along relations)."""
        self._usable()
        self.connections.check_writable("remove()")
        for item in _many(entity):
            self.unit_of_work.remove(item)

    async def upsert(
        self,
        entity: type[T],
        data: Mapping[str, Any],
        *,
        on_conflict: Sequence[str] | None = None,
        update: Sequence[str] | None = None,
    ) -> T:
        """Insert a row, or update the one with the same ``on_conflict`` values; one statement.

        ``on_conflict`` defaults to the primary key (when given) or the single unique property
        in ``data``; ``update`` defaults to every other given property. Runs at once (not at
        the next flush) and returns the managed entity holding the row as stored.
        """
        return (await self.upsert_many(entity, [data], on_conflict=on_conflict, update=update))[0]

    async def upsert_many(
        self,
        entity: type[T],
        data: Sequence[Mapping[str, Any]],
        *,
        on_conflict: Sequence[str] | None = None,
        update: Sequence[str] | None = None,
    ) -> list[T]:
        """:meth:`upsert` for several rows in one statement."""
        self._usable()
        events = self.orm.events
        if events.flush_listeners and isinstance(data, Sequence):
            # before_upsert hooks and subscribers may change the rows: give them copies.
            data = [dict(item) if isinstance(item, Mapping) else item for item in data]
            await events.before_upsert(entity, data, self)  # type: ignore[arg-type]
        batch = _upsert.build_upsert(meta_of(entity), data, on_conflict, update)
        upserted: list[T] = await _upsert.upsert_rows(self, batch)
        if events.flush_listeners:
            for item in upserted:
                await events.entity_event("after_upsert", item, self)
        return upserted

    async def lock(self, entity: object, mode: LockMode, *, version: Any = None) -> None:
        """Lock a managed entity.

        ``LockMode.OPTIMISTIC`` sends no query: it raises OptimisticLockError at once when the
        entity's loaded version is not ``version`` (say, the version an edit form was rendered
        with); the next flush checks the version against the row anyway. A pessimistic mode
        reads the row again with that row lock (inside ``em.transaction()``).
        """
        self._usable()
        self._check_managed(entity, "lock")
        if lock_mode(mode) is LockMode.OPTIMISTIC:
            _locking.check_version(entity, version)
            return
        meta = meta_of(entity)
        key = normalize_key(meta, entity, where=f"lock({meta.class_name})")
        await self.find_one(meta.cls, key, lock_mode=mode)

    async def flush(self) -> None:
        """Write every change in one transaction; with nothing changed, send nothing."""
        self._usable()
        await self.unit_of_work.flush()

    def clear(self) -> None:
        """Forget every managed entity (they become detached) and every pending change."""
        self.unit_of_work.clear()

    # -- misc ------------------------------------------------------------------------------

    def get_repository(self, entity: type[T]) -> EntityRepository[T]:
        meta = meta_of(entity)
        repository_class = meta.repository or EntityRepository
        return repository_class(self, entity)

    def create_query_builder(self, entity: type[T], alias: str | None = None) -> Any:
        """The low-level query builder of SQL drivers (see docs/query-builder.md)."""
        self._usable()
        meta = meta_of(entity)
        factory = getattr(self.orm.driver, "create_query_builder", None)
        if factory is None:
            native = ""
            if isinstance(self.orm.driver, NativeCollections):
                native = (
                    f", em.aggregate({meta.class_name}, pipeline) for an aggregation, or "
                    f"em.get_collection({meta.class_name}) for the driver's own collection"
                )
            raise NotSupportedError(
                f"the {self.orm.driver.platform.name} driver has no SQL query builder; use "
                f"em.find({meta.class_name}, ...) with the filter language{native} instead"
            )
        return factory(self, meta, alias or meta.table[0])

    async def execute(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        connection: ConnectionType | None = None,
    ) -> ExecuteResult:
        """Run raw SQL with ``:name`` placeholders; rows come back as dicts.

        It may write, so it runs on the primary (and counts as a write for read-your-writes);
        ``connection="read"`` says it only reads, which lets it go to a read replica.
        """
        self._usable()
        route = check_connection_type(connection, where="execute()")
        return await self.connections.run_raw(sql, params, connection=route)

    async def aggregate(
        self, entity: type[Any], pipeline: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Run an aggregation pipeline on ``entity``'s collection (document databases); the
        documents come back as stored, not as entities. Inside ``em.transaction()`` it reads
        in the transaction."""
        self._usable()
        meta = meta_of(entity)
        if not isinstance(pipeline, Sequence) or isinstance(pipeline, str | bytes):
            raise ValidationError(
                f"em.aggregate({meta.class_name}, pipeline) takes a list of stages, e.g. "
                f"[{{'$match': {{...}}}}, {{'$group': {{...}}}}], got {type(pipeline).__name__}"
            )

        async def run(connection: Connection) -> list[dict[str, Any]]:
            if not isinstance(connection, Aggregations):
                raise NotSupportedError(
                    f"the {self.orm.driver.platform.name} driver runs no aggregation pipelines; "
                    f"use em.find({meta.class_name}, ...), or the query builder on SQL"
                )
            return await connection.aggregate(meta, pipeline)

        return await self.connections.read(run)

    def get_collection(self, entity: type[Any]) -> Any:
        """The driver's own collection object of ``entity`` (PyMongo's ``AsyncCollection`` on
        MongoDB), for what the ORM does not cover. Writes through it bypass the unit of work
        and the identity map."""
        meta = meta_of(entity)
        driver = self.orm.driver
        if not isinstance(driver, NativeCollections):
            raise NotSupportedError(
                f"the {driver.platform.name} driver has no native collections; "
                f"em.get_collection({meta.class_name}) is for document databases"
            )
        return driver.native_collection(meta)

    def is_managed(self, entity: object) -> bool:
        state = state_of(entity)
        return state.uow is self.unit_of_work and state.status is Status.MANAGED

    def __contains__(self, entity: object) -> bool:
        return is_entity(entity) and self.is_managed(entity)


def _many(entity: object | Sequence[object]) -> list[object]:
    if isinstance(entity, (list, tuple, set)):
        return list(entity)
    return [entity]
