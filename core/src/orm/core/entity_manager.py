"""The EntityManager: the per-request entry point (identity map + unit of work + queries)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from orm.core import assign as _assign
from orm.core import cursor as _cursor
from orm.core import stream as _stream
from orm.core import upsert as _upsert
from orm.core.cursor import Cursor
from orm.core.driver import Connection, ExecuteResult
from orm.core.errors import EntityStateError, NotFoundError, ValidationError
from orm.core.keys import normalize_key
from orm.core.loading.loader import Loader
from orm.core.loading.populate import PopulatePlan, StrategyName, parse_populate, parse_strategy
from orm.core.query.ast import CountQuery, LoadStrategy, LockMode, SelectQuery
from orm.core.query.filter import is_entity, parse_fields, parse_filter, parse_order_by
from orm.core.repository import EntityRepository
from orm.core.state import STATE_KEY, Status, meta_of, state_of
from orm.core.transactions import TransactionScope, _Transaction
from orm.core.unit_of_work.uow import UnitOfWork

if TYPE_CHECKING:
    from orm.core.orm import ORM

T = TypeVar("T")
R = TypeVar("R")


class EntityManager(TransactionScope):
    """One unit of work: use a fresh fork per request (``orm.em.fork()``).

    It keeps one object per row (the identity map), tracks changes to what it loaded or
    persisted, and writes them all in one transaction on :meth:`flush`.
    """

    def __init__(self, orm: ORM, *, is_global: bool = False) -> None:
        self.orm = orm
        self._global = is_global
        self._uow = UnitOfWork(self)
        self._loader = Loader(self, dataloader=orm.config.dataloader)
        self._tx: _Transaction | None = None

    def fork(self) -> EntityManager:
        """A new, empty EntityManager on the same ORM: one per request or unit of work."""
        return EntityManager(self.orm)

    def fork_on(self, connection: Connection) -> EntityManager:
        """A fork that reads and flushes on ``connection``, inside the transaction open on it.

        For code that owns a connection and its transaction (a migration's data step): flushes
        use savepoints on it and never commit; the owner commits or rolls back.
        """
        em = EntityManager(self.orm)
        em._tx = _Transaction(connection)
        return em

    def _usable(self) -> None:
        if self._global:
            raise EntityStateError(
                "orm.em is the global EntityManager and cannot load or track entities, because "
                "its identity map would be shared by every request. Call orm.em.fork() once per "
                "request or unit of work and use that fork"
            )

    # -- reading ---------------------------------------------------------------------------

    async def find(
        self,
        entity: type[T],
        where: Any = None,
        *,
        populate: Sequence[str] = (),
        order_by: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        lock_mode: LockMode | None = None,
        lock_nowait: bool = False,
        lock_skip_locked: bool = False,
        fields: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        populate_where: Mapping[str, Any] | None = None,
        populate_order_by: Mapping[str, Any] | None = None,
        strategy: StrategyName | None = None,
    ) -> list[T]:
        """Entities matching ``where`` (a filter dict, a primary key, a list of keys, or None).

        ``populate`` loads relation paths (``["books.reviews", "publisher"]``) by ``strategy``:
        ``"select-in"`` (one query per level; the default unless ``Config.load_strategy``
        says otherwise), ``"joined"`` (one statement) or ``"json-aggregate"`` (one statement,
        PostgreSQL). ``populate_where``/``populate_order_by`` filter and order populated
        collections, keyed by path. See docs/loading-strategies.md.

        ``fields``/``exclude`` load only some properties (the primary key always): reading
        another one raises NotLoadedError, and a flush never writes what was not loaded.
        """
        self._usable()
        meta = meta_of(entity)
        plan = self._plan(meta, populate, populate_where, populate_order_by, strategy)
        query = SelectQuery(
            meta,
            parse_filter(meta, where),
            order_by=parse_order_by(meta, order_by),
            limit=_non_negative("limit", limit),
            offset=_non_negative("offset", offset),
            lock_mode=self._lock(lock_mode, lock_nowait, lock_skip_locked),
            lock_nowait=lock_nowait,
            lock_skip_locked=lock_skip_locked,
            fields=parse_fields(meta, fields, exclude),
        )
        entities: list[T] = await self._loader.find(query, plan)
        return entities

    def _plan(
        self,
        meta: Any,
        populate: Sequence[str],
        where: Mapping[str, Any] | None,
        order_by: Mapping[str, Any] | None,
        strategy: StrategyName | None,
    ) -> PopulatePlan:
        default = parse_strategy(self.orm.config.load_strategy, LoadStrategy.SELECT_IN)
        return PopulatePlan(
            parse_strategy(strategy, default),
            parse_populate(meta, populate, where=where, order_by=order_by),
        )

    def stream(
        self,
        entity: type[T],
        where: Any = None,
        *,
        order_by: Mapping[str, Any] | None = None,
        batch_size: int = 500,
        populate: Sequence[str] = (),
    ) -> AsyncGenerator[T, None]:
        """``async for author in em.stream(Author, where, batch_size=500):`` - every match,
        read ``batch_size`` rows at a time, so memory stays flat however many rows match.

        Rows come from a server-side cursor where one can be held, else in keyset batches;
        ``populate`` runs once per batch (one query per relation level). Entities are hydrated
        through the identity map, and the ones a batch brought in are detached when the next
        batch arrives unless they were changed (then the next flush writes them). Ordered by
        ``order_by`` (NULLs last unless it says ``nulls first``) then the primary key. Breaking
        out closes the cursor and releases its connection; ``async with
        contextlib.aclosing(em.stream(...)) as authors:`` does so at once. docs/querying.md
        (Streaming) gives the exact rules.
        """
        iterator: AsyncGenerator[T, None] = _stream.open_stream(
            self, entity, where, order_by=order_by, batch_size=batch_size, populate=populate
        )
        return iterator

    def _lock(self, mode: LockMode | None, nowait: bool, skip_locked: bool) -> LockMode | None:
        if mode is None:
            if nowait or skip_locked:
                raise ValidationError("lock_nowait/lock_skip_locked need a lock_mode")
            return None
        if self._tx is None:
            raise ValidationError(
                f"lock_mode={mode.name} needs a transaction: run the query inside "
                f"`async with em.transaction():`"
            )
        platform = self.orm.driver.platform
        if not platform.lock_modes:
            raise ValidationError(f"{platform.name} does not support row locks (lock_mode)")
        if skip_locked and not platform.skip_locked:
            raise ValidationError(f"{platform.name} does not support SKIP LOCKED")
        return mode

    async def find_all(
        self,
        entity: type[T],
        *,
        populate: Sequence[str] = (),
        order_by: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        populate_where: Mapping[str, Any] | None = None,
        populate_order_by: Mapping[str, Any] | None = None,
        strategy: StrategyName | None = None,
    ) -> list[T]:
        return await self.find(
            entity,
            None,
            populate=populate,
            order_by=order_by,
            limit=limit,
            offset=offset,
            populate_where=populate_where,
            populate_order_by=populate_order_by,
            strategy=strategy,
        )

    async def find_one(
        self,
        entity: type[T],
        where: Any,
        *,
        populate: Sequence[str] = (),
        order_by: Mapping[str, Any] | None = None,
        lock_mode: LockMode | None = None,
        lock_nowait: bool = False,
        lock_skip_locked: bool = False,
        fields: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        populate_where: Mapping[str, Any] | None = None,
        populate_order_by: Mapping[str, Any] | None = None,
        strategy: StrategyName | None = None,
    ) -> T | None:
        """The first entity matching ``where``, or None.

        By primary key, the identity map answers without a query when it can, and concurrent
        lookups are merged into one query by the dataloader.
        """
        self._usable()
        meta = meta_of(entity)
        if where is None:
            raise ValidationError(
                f"find_one({meta.class_name}, None): pass a filter or a primary key; use "
                f"find_all() to read every row"
            )
        partial = fields is not None or exclude is not None
        plan = self._plan(meta, populate, populate_where, populate_order_by, strategy)
        if (
            not isinstance(where, (Mapping, list))
            and lock_mode is None
            and not order_by
            and not partial
            and (not plan.nodes or plan.strategy is LoadStrategy.SELECT_IN)
        ):
            key = normalize_key(meta, where, where=f"find_one({meta.class_name})")
            found = self._uow.identity_map.get(meta.cls, key)
            if found is None or not found.__dict__[STATE_KEY].initialized:
                found = await self._loader.find_by_key(meta, key)
            if found is not None:
                await self._loader.populate([found], plan.nodes)
            return found  # type: ignore[no-any-return]
        results = await self.find(
            entity,
            where,
            populate=populate,
            order_by=order_by,
            limit=1,
            lock_mode=lock_mode,
            lock_nowait=lock_nowait,
            lock_skip_locked=lock_skip_locked,
            fields=fields,
            exclude=exclude,
            populate_where=populate_where,
            populate_order_by=populate_order_by,
            strategy=strategy,
        )
        return results[0] if results else None

    async def find_one_or_fail(
        self,
        entity: type[T],
        where: Any,
        *,
        populate: Sequence[str] = (),
        order_by: Mapping[str, Any] | None = None,
        lock_mode: LockMode | None = None,
        fields: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        populate_where: Mapping[str, Any] | None = None,
        populate_order_by: Mapping[str, Any] | None = None,
        strategy: StrategyName | None = None,
    ) -> T:
        """Like :meth:`find_one`, but raises :class:`NotFoundError` when nothing matches."""
        found = await self.find_one(
            entity,
            where,
            populate=populate,
            order_by=order_by,
            lock_mode=lock_mode,
            fields=fields,
            exclude=exclude,
            populate_where=populate_where,
            populate_order_by=populate_order_by,
            strategy=strategy,
        )
        if found is None:
            name = entity.__name__
            raise NotFoundError(
                f"{name} not found ({where!r}); check the key or filter, or use find_one() to "
                f"get None instead of an error",
                entity=name,
            )
        return found

    async def count(self, entity: type[Any], where: Any = None) -> int:
        self._usable()
        meta = meta_of(entity)
        query = CountQuery(meta, parse_filter(meta, where))
        result = await self._read(lambda connection: connection.count(query))
        assert isinstance(result, int)
        return result

    async def find_and_count(
        self,
        entity: type[T],
        where: Any = None,
        *,
        populate: Sequence[str] = (),
        order_by: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        populate_where: Mapping[str, Any] | None = None,
        populate_order_by: Mapping[str, Any] | None = None,
        strategy: StrategyName | None = None,
    ) -> tuple[list[T], int]:
        """A page of entities and the total number of matches (ignoring limit and offset)."""
        found = await self.find(
            entity,
            where,
            populate=populate,
            order_by=order_by,
            limit=limit,
            offset=offset,
            populate_where=populate_where,
            populate_order_by=populate_order_by,
            strategy=strategy,
        )
        return found, await self.count(entity, where)

    async def find_by_cursor(
        self,
        entity: type[T],
        where: Mapping[str, Any] | None = None,
        *,
        order_by: Mapping[str, str],
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        populate: Sequence[str] = (),
        include_count: bool = True,
    ) -> Cursor[T]:
        """A page of a keyset pagination: ``first`` items after ``after``, or ``last`` before
        ``before``, in ``order_by`` order (the primary key breaks ties). See docs/querying.md."""
        self._usable()
        page: Cursor[T] = await _cursor.find_by_cursor(
            self,
            meta_of(entity),
            where,
            first=first,
            after=after,
            last=last,
            before=before,
            order_by=order_by,
            populate=populate,
            include_count=include_count,
        )
        return page

    def get_reference(self, entity: type[T], key: Any) -> T:
        """The managed entity with this key, or a reference that knows only its key (no query)."""
        self._usable()
        meta = meta_of(entity)
        normalized = normalize_key(meta, key, where=f"get_reference({meta.class_name})")
        reference: T = self._uow.hydrator.reference(meta, normalized)
        return reference

    async def populate(self, entities: T | Sequence[T], paths: Sequence[str]) -> None:
        """Load relation paths (``"books.tags"``) of already loaded entities, one query a level."""
        self._usable()
        items: list[Any] = list(entities) if isinstance(entities, Sequence) else [entities]
        if not items:
            return
        for item in items:
            self._check_managed(item, "populate")
        await self._loader.populate(items, parse_populate(meta_of(items[0]), paths))

    async def refresh(self, entity: T) -> T:
        """Re-read the entity's row, dropping its unflushed changes; NotFoundError if gone."""
        self._usable()
        self._check_managed(entity, "refresh")
        meta = meta_of(entity)
        key = normalize_key(meta, entity, where=f"refresh({meta.class_name})")
        query = SelectQuery(meta, parse_filter(meta, key))
        rows = await self._read(lambda connection: connection.find(query))
        if not rows:
            raise NotFoundError(
                f"{meta.class_name} {key!r} no longer exists in the database",
                entity=meta.class_name,
            )
        self._uow.hydrator.refresh(entity, meta, rows[0])
        self._uow.touched.pop(id(entity), None)
        return entity

    def _check_managed(self, entity: Any, action: str) -> None:
        state = state_of(entity)
        if state.uow is not self._uow or state.status is not Status.MANAGED:
            raise EntityStateError(
                f"cannot {action} this {type(entity).__name__}: it is not managed by this "
                f"EntityManager ({state.status.value}); load it in this fork first"
            )

    # -- writing ---------------------------------------------------------------------------

    def create(self, entity: type[T], data: Mapping[str, Any]) -> T:
        """A new entity from a dict (unknown keys are an error), persisted with the next flush."""
        self._usable()
        created: T = _assign.create(self, meta_of(entity), data)
        return created

    def assign(self, entity: T, data: Mapping[str, Any]) -> T:
        """Set properties from a dict (unknown keys are an error); returns the entity."""
        self._usable()
        _assign.assign(self, entity, data)
        return entity

    def persist(self, entity: object | Sequence[object]) -> None:
        """Mark new entities to be inserted by the next flush (cascades along relations)."""
        self._usable()
        for item in _many(entity):
            self._uow.persist(item)

    def remove(self, entity: object | Sequence[object]) -> None:
        """Mark entities to be deleted by the next flush (cascades along relations)."""
        self._usable()
        for item in _many(entity):
            self._uow.remove(item)

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
        batch = _upsert.build_upsert(meta_of(entity), data, on_conflict, update)
        return await _upsert.upsert_rows(self, batch)

    async def flush(self) -> None:
        """Write every change in one transaction; with nothing changed, send nothing."""
        self._usable()
        await self._uow.flush()

    def clear(self) -> None:
        """Forget every managed entity (they become detached) and every pending change."""
        self._uow.clear()

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
            raise ValidationError(
                f"the {self.orm.driver.platform.name} driver has no SQL query builder; use "
                f"em.find() with the filter language instead"
            )
        return factory(self, meta, alias or meta.table[0])

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> ExecuteResult:
        """Run raw SQL with ``:name`` placeholders; rows come back as dicts."""
        return await self._read(lambda connection: connection.execute(sql, params))

    def is_managed(self, entity: object) -> bool:
        state = state_of(entity)
        return state.uow is self._uow and state.status is Status.MANAGED

    def __contains__(self, entity: object) -> bool:
        return is_entity(entity) and self.is_managed(entity)


def _many(entity: object | Sequence[object]) -> list[object]:
    if isinstance(entity, (list, tuple, set)):
        return list(entity)
    return [entity]


def _non_negative(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValidationError(f"{name} must be a non-negative int, got {value!r}")
    return value
