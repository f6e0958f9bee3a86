"""The find family of the EntityManager: find, find_one, find_all, find_and_count, count,
find_by_cursor and stream, with populate, loading strategies, partial loading and locks.

Split from entity_manager.py; :class:`ReadScope` is a base of
:class:`~orm.core.entity_manager.EntityManager`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, TypeVar

from orm.core import cursor as _cursor
from orm.core import stream as _stream
from orm.core.cursor import Cursor
from orm.core.errors import NotFoundError, ValidationError
from orm.core.keys import normalize_key
from orm.core.loading.populate import PopulatePlan, StrategyName, parse_populate, parse_strategy
from orm.core.locking import require_version
from orm.core.metadata.model import EntityMetadata
from orm.core.query.ast import CountQuery, LoadStrategy, LockMode, SelectQuery
from orm.core.query.filter import parse_fields, parse_filter, parse_order_by
from orm.core.query.options import flag, lock_mode, page_bound
from orm.core.routing import ConnectionType, check_connection_type, requested_connection
from orm.core.state import STATE_KEY, meta_of
from orm.core.transactions import TransactionScope

T = TypeVar("T")


class ReadScope(TransactionScope):
    """The reading half of :class:`~orm.core.entity_manager.EntityManager`."""

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
        refresh: bool = False,
        connection: ConnectionType | None = None,
    ) -> list[T]:
        """Entities matching ``where`` (a filter dict, a primary key, a list of keys, or None).

        ``populate`` loads relation paths (``["books.reviews", "publisher"]``) by ``strategy``:
        ``"select-in"`` (one query per level; the default unless ``Config.load_strategy``
        says otherwise), ``"joined"`` (one statement) or ``"json-aggregate"`` (one statement,
        PostgreSQL). ``populate_where``/``populate_order_by`` filter and order populated
        collections, keyed by path. See docs/loading-strategies.md.

        ``fields``/``exclude`` load only some properties (the primary key always): reading
        another one raises NotLoadedError, and a flush never writes what was not loaded.

        ``refresh=True`` (and every locking read, ``lock_mode=...``) overwrites the entities
        already in the fork with the rows read; an entity with unflushed changes to a column
        read is an EntityStateError (flush first). See docs/querying.md#locks.

        ``connection`` sends the reads to the primary (``"write"``) or a read replica
        (``"read"``) instead of where the routing rules would (docs/scaling.md#read-replicas);
        ``refresh=True`` reads from the primary unless it says ``"read"``.
        """
        self._usable()
        meta = meta_of(entity)
        route = check_connection_type(connection, where=f"find({meta.class_name})")
        plan = self._plan(meta, populate, populate_where, populate_order_by, strategy)
        nowait = flag("lock_nowait", lock_nowait)
        skip_locked = flag("lock_skip_locked", lock_skip_locked)
        query = SelectQuery(
            meta,
            parse_filter(meta, where),
            order_by=parse_order_by(meta, order_by),
            limit=page_bound("limit", limit),
            offset=page_bound("offset", offset),
            lock_mode=self._lock(lock_mode, nowait, skip_locked, meta),
            lock_nowait=nowait,
            lock_skip_locked=skip_locked,
            fields=parse_fields(meta, fields, exclude),
        )
        refresh = flag("refresh", refresh)
        with requested_connection(route or ("write" if refresh else None)):
            entities: list[T] = await self.unit_of_work.loader.find(query, plan, refresh=refresh)
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
        connection: ConnectionType | None = None,
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
        self._usable()
        route = check_connection_type(connection, where=f"stream({entity.__name__})")
        iterator: AsyncGenerator[T, None] = _stream.open_stream(
            self,
            entity,
            where,
            order_by=order_by,
            batch_size=batch_size,
            populate=populate,
            connection=route,
        )
        return iterator

    def _lock(
        self, requested: Any, nowait: bool, skip_locked: bool, meta: EntityMetadata
    ) -> LockMode | None:
        mode = lock_mode(requested)
        if mode is LockMode.OPTIMISTIC:
            # No row lock: every flush checks the version anyway (orm.core.locking).
            require_version(meta, "find(..., lock_mode=LockMode.OPTIMISTIC)")
            mode = None
        if mode is None:
            if nowait or skip_locked:
                raise ValidationError("lock_nowait/lock_skip_locked need a lock_mode")
            return None
        if self.connections.current is None:
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
        connection: ConnectionType | None = None,
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
            connection=connection,
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
        refresh: bool = False,
        connection: ConnectionType | None = None,
    ) -> T | None:
        """The first entity matching ``where``, or None.

        By primary key, the identity map answers without a query when it can, and concurrent
        lookups are merged into one query by the dataloader; ``refresh=True`` or a
        ``lock_mode`` always reads the row and overwrites the entity (see :meth:`find`).
        """
        self._usable()
        meta = meta_of(entity)
        if where is None:
            raise ValidationError(
                f"find_one({meta.class_name}, None): pass a filter or a primary key; use "
                f"find_all() to read every row"
            )
        partial = fields is not None or exclude is not None
        flag("refresh", refresh)
        route = check_connection_type(connection, where=f"find_one({meta.class_name})")
        plan = self._plan(meta, populate, populate_where, populate_order_by, strategy)
        if (
            not isinstance(where, (Mapping, list))
            and lock_mode is None
            and not refresh
            and not order_by
            and not partial
            and (not plan.nodes or plan.strategy is LoadStrategy.SELECT_IN)
        ):
            key = normalize_key(meta, where, where=f"find_one({meta.class_name})")
            found = self.unit_of_work.identity_map.get(meta.cls, key)
            with requested_connection(route):
                if found is None or not found.__dict__[STATE_KEY].initialized:
                    found = await self.unit_of_work.loader.find_by_key(meta, key)
                if found is not None:
                    await self.unit_of_work.loader.populate([found], plan.nodes)
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
            refresh=refresh,
            connection=route,
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
        refresh: bool = False,
        connection: ConnectionType | None = None,
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
            refresh=refresh,
            connection=connection,
        )
        if found is None:
            name = entity.__name__
            raise NotFoundError(
                f"{name} not found ({where!r}); check the key or filter, or use find_one() to "
                f"get None instead of an error",
                entity=name,
            )
        return found

    async def count(
        self, entity: type[Any], where: Any = None, *, connection: ConnectionType | None = None
    ) -> int:
        """How many rows match ``where``; ``connection`` as for :meth:`find`."""
        self._usable()
        meta = meta_of(entity)
        route = check_connection_type(connection, where=f"count({meta.class_name})")
        query = CountQuery(meta, parse_filter(meta, where))
        result = await self.connections.read(lambda target: target.count(query), connection=route)
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
        connection: ConnectionType | None = None,
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
            connection=connection,
        )
        return found, await self.count(entity, where, connection=connection)

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
        connection: ConnectionType | None = None,
    ) -> Cursor[T]:
        """A page of a keyset pagination: ``first`` items after ``after``, or ``last`` before
        ``before``, in ``order_by`` order (the primary key breaks ties). See docs/querying.md."""
        self._usable()
        route = check_connection_type(connection, where=f"find_by_cursor({entity.__name__})")
        with requested_connection(route):
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
