"""``em.stream``: entities read batch by batch, so memory stays flat (docs/querying.md#streaming).

Where the rows come from (decided when the iteration starts):

* inside ``em.transaction()``: the transaction's connection. ``Connection.stream`` reads from a
  server-side cursor where the driver can keep one open while other statements run on the
  same connection (SQLite, PostgreSQL), else in keyset batches (MySQL/MariaDB, whose
  unbuffered results block the connection). The transaction's lock is held only while a
  batch is fetched, so the loop body can query and flush in between.
* outside a transaction, when the platform has ``server_side_cursors`` and
  ``concurrent_connections`` and the pool may open two connections or more: a connection
  checked out for the whole stream, reading from a cursor (PostgreSQL wraps it in a
  transaction of its own). The loop body's queries use other pooled connections.
* otherwise (SQLite outside a transaction, a pool of one connection, a driver without
  cursors): keyset batches, each one a query on a connection acquired just for it, so nothing
  is held between batches and the loop body can use the only connection.

Eviction (the rule docs/querying.md states): the entities that loading a batch brought into
the fork (the batch's roots, the references and populated entities that were not in the
identity map before) are detached when the next non-empty batch has been fetched, except the
ones that are *changed* (assigned or collection-modified since the last flush, persisted,
removed, or holding an in-place JSON change) and every entity reachable from a changed entity
or from a pending insert/removal through loaded relations. Those stay managed (and are
checked again at every later batch) so the next flush writes them. Entities that were managed
before the stream loaded them are never evicted. When the stream ends (exhausted, broken out
of, or failed) its last batch stays managed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from orm.core.collection import Collection
from orm.core.driver import Row
from orm.core.errors import EntityStateError
from orm.core.keys import entity_key
from orm.core.loading.populate import parse_populate
from orm.core.query.ast import PopulateNode, SelectQuery
from orm.core.query.filter import parse_filter, parse_order_by
from orm.core.query.keyset import keyset_batches, stream_order
from orm.core.query.options import positive_size
from orm.core.routing import requested_connection
from orm.core.state import STATE_KEY, EntityState, Status, meta_of
from orm.core.unit_of_work.snapshot import changed_properties

if TYPE_CHECKING:
    from orm.core.connections import Connections
    from orm.core.reads import ReadScope
    from orm.core.routing import ConnectionType
    from orm.core.transactions import Transaction
    from orm.core.unit_of_work.uow import UnitOfWork


def open_stream(
    em: ReadScope,
    entity: type[Any],
    where: Any,
    *,
    order_by: Any,
    batch_size: int,
    populate: Sequence[str],
    connection: ConnectionType | None = None,
) -> AsyncGenerator[Any, None]:
    """Validate everything now (errors at the call, not at the first iteration); the caller
    has checked that ``em`` may load entities."""
    meta = meta_of(entity)
    positive_size("batch_size", batch_size)
    tree = parse_populate(meta, populate)
    query = SelectQuery(
        meta,
        parse_filter(meta, where),
        order_by=stream_order(meta, parse_order_by(meta, order_by)),
    )
    return _entities(em, query, batch_size, tree, connection)


async def _entities(
    em: ReadScope,
    query: SelectQuery,
    batch_size: int,
    tree: tuple[PopulateNode, ...],
    connection: ConnectionType | None,
) -> AsyncGenerator[Any, None]:
    uow = em.unit_of_work
    connections = em.connections
    meta = query.entity
    hydrate = uow.hydrator.hydrate
    # Entities this stream brought into the fork that are still managed: the current batch's,
    # and changed ones of earlier batches.
    held: list[Any] = []
    tx = connections.current
    async with aclosing(_row_batches(em, query, batch_size, connection)) as batches:
        async for rows in batches:
            if not rows:
                continue
            held = evict(uow, held)
            with uow.identity_map.recording() as loaded:
                entities = [hydrate(meta, row) for row in rows]
                uow.register_managed(entities[0])
                if tree:
                    # Set and reset between yields: a generator shares its consumer's context.
                    with requested_connection(connection):
                        await uow.loader.populate(entities, tree)
            held.extend(loaded)
            for entity in entities:
                if tx is not None and connections.current is not tx:
                    raise _transaction_ended()
                yield entity


# -- where the rows come from --------------------------------------------------------------


def holds_cursor(em: ReadScope) -> bool:
    """Whether a stream outside a transaction keeps a pooled connection with an open cursor."""
    driver = em.orm.driver
    platform = driver.platform
    size = driver.pool_max_size
    return (
        platform.server_side_cursors
        and platform.concurrent_connections
        and (size is None or size >= 2)
    )


async def _row_batches(
    em: ReadScope, query: SelectQuery, batch_size: int, route: ConnectionType | None
) -> AsyncGenerator[list[Row], None]:
    tx = em.connections.current
    if tx is not None:
        async with aclosing(_on_transaction(em.connections, tx, query, batch_size)) as batches:
            async for rows in batches:
                yield rows
        return
    if holds_cursor(em):
        async with em.connections.read_connection(connection=route) as connection:
            cursor = connection.stream(query, batch_size)
            try:
                async for rows in cursor:
                    yield rows
            finally:
                await _close(cursor)
        return

    async def fetch(batch: SelectQuery) -> list[Row]:
        return await em.connections.read(
            lambda connection: connection.find(batch), connection=route
        )

    async with aclosing(keyset_batches(fetch, query, batch_size)) as batches:
        async for rows in batches:
            yield rows


async def _on_transaction(
    connections: Connections, tx: Transaction, query: SelectQuery, batch_size: int
) -> AsyncGenerator[list[Row], None]:
    """Batches on the transaction's connection, holding its lock only while fetching."""
    cursor = tx.connection.stream(query, batch_size)
    tx.streams.append(cursor)
    try:
        while True:
            if connections.current is not tx:
                raise _transaction_ended()
            async with tx.lock:
                try:
                    rows = await anext(cursor)
                except StopAsyncIteration:
                    return
            yield rows
    finally:
        if _forget(tx, cursor):
            async with tx.lock:
                await _close(cursor)


def _transaction_ended() -> EntityStateError:
    return EntityStateError(
        "the transaction this stream was reading in has ended; iterate the stream inside "
        "the `async with em.transaction():` block that started it"
    )


def _forget(tx: Transaction, cursor: AsyncIterator[list[Row]]) -> bool:
    """Unregister ``cursor``; False if the transaction's end already closed it."""
    kept = [c for c in tx.streams if c is not cursor]
    found = len(kept) != len(tx.streams)
    tx.streams[:] = kept
    return found


async def close_streams(tx: Transaction) -> None:
    """Before a transaction ends: close the cursors of streams still open on its connection
    (a stream broken out of without ``aclosing`` is only closed when garbage-collected)."""
    cursors, tx.streams[:] = list(tx.streams), []
    for cursor in cursors:
        try:
            async with tx.lock:
                await _close(cursor)
        except Exception:
            pass  # the transaction's end closes the cursor anyway


async def _close(cursor: AsyncIterator[list[Row]]) -> None:
    aclose = getattr(cursor, "aclose", None)
    if aclose is not None:
        await aclose()


# -- eviction ------------------------------------------------------------------------------


def evict(uow: UnitOfWork, held: list[Any]) -> list[Any]:
    """Detach the ``held`` entities nothing pending needs; return the ones that stay managed.

    Stay: changed entities, and every held entity reachable through loaded relations from a
    changed one or from anything touched, persisted or removed in the fork.
    """
    if not held:
        return held
    candidates = {id(entity): entity for entity in held}
    keep: dict[int, Any] = {}
    pending = [entity for entity in held if _changed(uow, entity)]
    pending.extend(uow.touched.values())
    pending.extend(uow.persist_queue.values())
    pending.extend(uow.remove_queue.values())
    visited: set[int] = set()
    while pending:
        entity = pending.pop()
        if id(entity) in visited:
            continue
        visited.add(id(entity))
        if id(entity) in candidates:
            keep[id(entity)] = entity
        pending.extend(r for r in _neighbours(entity) if id(r) in candidates)
    for entity in held:
        if id(entity) not in keep:
            _detach(uow, entity)
    return list(keep.values())


def _changed(uow: UnitOfWork, entity: Any) -> bool:
    state: EntityState = entity.__dict__[STATE_KEY]
    if state.uow is not uow or state.status is not Status.MANAGED:
        return False
    key = id(entity)
    if key in uow.touched or key in uow.persist_queue or key in uow.remove_queue:
        return True
    meta = meta_of(entity)
    d = entity.__dict__
    for prop in meta.collections:
        collection = d.get(prop.name)
        if collection is not None and collection.is_dirty:
            return True
    return meta.has_mutable and bool(changed_properties(entity, meta, state.snapshot or {}))


def _neighbours(entity: Any) -> list[Any]:
    related: list[Any] = []
    d = entity.__dict__
    for prop in meta_of(entity).properties.values():
        if prop.relation is None:
            continue
        value = d.get(prop.name)
        if isinstance(value, Collection):
            related.extend(value.known_items)
            related.extend(value.added)
            related.extend(value.removed)
        elif value is not None:
            related.append(value)
    return related


def _detach(uow: UnitOfWork, entity: Any) -> None:
    d = entity.__dict__
    state: EntityState = d[STATE_KEY]
    if state.uow is not uow or state.status is not Status.MANAGED:
        return  # removed by a flush, or detached by em.clear() meanwhile
    meta = meta_of(entity)
    key = entity_key(entity, meta)
    if key is not None and uow.identity_map.get(meta.cls, key) is entity:
        uow.identity_map.discard(meta.cls, key)
    state.uow = None
    state.status = Status.DETACHED
    for prop in meta.collections:
        collection = d.get(prop.name)
        if collection is not None and not collection.initialized and not collection.is_dirty:
            # Reading the attribute creates an equal, not-loaded collection again; dropping
            # this one breaks the entity <-> collection cycle, so refcounting frees the entity
            # at once instead of at the next full garbage collection.
            del d[prop.name]
