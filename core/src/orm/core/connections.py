"""Which connection the statements of one EntityManager fork run on.

The routing rules (docs/scaling.md#read-replicas), first match wins:

1. inside ``em.transaction()``: the transaction's connection (on the primary) - every read,
   locking reads included, and every write;
2. writes (flushes, upserts, query-builder writes, ``em.execute``): the primary;
3. a read that asks, ``connection="write"`` or ``connection="read"``: the primary, or a replica;
4. a read of a fork that wrote less than ``Config.read_your_writes`` seconds ago (by default
   at any time in the fork's life): the primary, so the fork sees its own changes;
5. a read-only fork (``em.fork(read_only=True)``): a replica;
6. any other read: a replica if ``Config.prefer_read_replicas`` (the default), else the primary.

A read sent to a replica moves to the next replica, then to the primary, when a replica cannot
answer (:mod:`orm.core.replicas`). With no replicas configured everything is the primary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from orm.core.driver import Connection, ExecuteResult, RawStatements
from orm.core.errors import NotSupportedError, ReadOnlyError
from orm.core.routing import ConnectionType, requested_route
from orm.core.transactions import Transaction, commit_awaiting_answer, rollback_keeping_error

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager
    from orm.core.orm import ORM

R = TypeVar("R")


class Connections:
    """Which connection the statements of one EntityManager fork run on.

    Handed at construction to the fork's Unit of Work, Loader and query builders, so they
    reach the database without calling back into the EntityManager:

    * ``current``: the :class:`Transaction` open on the fork, or None;
    * ``read(operation)``: run one read on the transaction's connection, else on a replica or
      the primary as the rules above say;
    * ``read_connection()``: a connection held for a streamed read, chosen the same way;
    * ``write(operation)``: run one write outside the unit of work (query-builder writes,
      ``em.execute``) on the transaction's connection, else on the primary;
    * ``write_scope(on_commit)``: a connection in a transaction for a flush or an upsert (a
      savepoint inside an open transaction), committed when the block ends.

    ``check_usable`` is called before every read (the global ``orm.em`` refuses to work).
    """

    __slots__ = ("_check_usable", "current", "em", "last_write", "orm", "read_only")

    def __init__(
        self,
        orm: ORM,
        check_usable: Callable[[], None],
        *,
        read_only: bool = False,
        em: EntityManager | None = None,
    ) -> None:
        self.orm = orm
        # The fork these connections serve: handed to transaction event subscribers.
        self.em = em
        self.current: Transaction | None = None
        self.read_only = read_only
        # When this fork last wrote (on the replicas' clock), for read-your-writes.
        self.last_write: float | None = None
        self._check_usable = check_usable

    # -- routing ---------------------------------------------------------------------------

    def reads_from_replica(self, connection: ConnectionType | None = None) -> bool:
        """Whether a read outside a transaction goes to a replica now (rules 3-6);
        ``connection`` is what the read asked for, else what the surrounding call did."""
        if not self.orm.replicas:
            return False
        requested = connection or requested_route()
        if requested is not None:
            return requested == "read"
        if self.last_write is not None:
            window = self.orm.config.read_your_writes
            if window is None or self.orm.replicas.clock() - self.last_write < window:
                return False
        return self.read_only or self.orm.config.prefer_read_replicas

    def check_writable(self, action: str) -> None:
        """Refuse a write on a read-only fork, before any I/O."""
        if self.read_only:
            raise ReadOnlyError(
                f"{action} on a read-only EntityManager (em.fork(read_only=True)), which "
                f"refuses writes; make the change in a fork that can write: orm.em.fork()"
            )

    def note_write(self) -> None:
        self.last_write = self.orm.replicas.clock()

    # -- reads -----------------------------------------------------------------------------

    async def read(
        self,
        operation: Callable[[Connection], Awaitable[R]],
        *,
        connection: ConnectionType | None = None,
    ) -> R:
        """Run ``operation`` on the open transaction's connection (under its lock), else on a
        connection of a replica or the primary, acquired for it."""
        self._check_usable()
        tx = self.current
        if tx is not None:
            async with tx.lock:
                return await operation(tx.connection)
        if self.reads_from_replica(connection):
            return await self.orm.replicas.read(operation, fallback=lambda: self.primary(operation))
        return await self.primary(operation)

    async def primary(self, operation: Callable[[Connection], Awaitable[R]]) -> R:
        async with self.orm.driver.acquire() as connection:
            return await operation(connection)

    @asynccontextmanager
    async def read_connection(
        self, *, connection: ConnectionType | None = None
    ) -> AsyncIterator[Connection]:
        """A connection for a streamed read outside a transaction, held for the ``async
        with``: a replica's or the primary's, by the rules above."""
        if self.reads_from_replica(connection):
            async with self.orm.replicas.connection() as replica:
                if replica is not None:
                    yield replica
                    return
        async with self.orm.driver.acquire() as primary:
            yield primary

    async def run_raw(
        self,
        statement: str,
        params: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        connection: ConnectionType | None = None,
    ) -> ExecuteResult:
        """Run a statement in the database's own language (``em.execute``) on a connection
        that implements :class:`RawStatements` (the SQL ones). It may write, so it runs as a
        write unless ``connection="read"`` says it only reads."""

        async def run(target: Connection) -> ExecuteResult:
            if not isinstance(target, RawStatements):
                name = self.orm.driver.platform.name
                raise NotSupportedError(
                    f"the {name} driver runs no raw statements, so em.execute() is not available "
                    f"on it; use em.find() with the filter language, or the driver's own raw "
                    f"access (see its page under docs/drivers/)"
                )
            return await target.run_raw(statement, params)

        if connection == "read":
            return await self.read(run, connection="read")
        return await self.write(run, action="em.execute()")

    # -- writes ----------------------------------------------------------------------------

    async def write(
        self, operation: Callable[[Connection], Awaitable[R]], *, action: str = "a write"
    ) -> R:
        """Run one write that is not part of a flush (a query-builder write, ``em.execute``)
        on the open transaction's connection, else on the primary (autocommitted)."""
        self._check_usable()
        self.check_writable(action)
        tx = self.current
        if tx is not None:
            async with tx.lock:
                result = await operation(tx.connection)
        else:
            result = await self.primary(operation)
        self.note_write()
        return result

    @asynccontextmanager
    async def write_scope(
        self, on_commit: Callable[[], None] | None = None, *, action: str = "flush()"
    ) -> AsyncIterator[Connection]:
        """A connection in a transaction for a flush: the surrounding one (savepoint) or new;
        with no transaction at all on a driver without them (``Platform.transactions``).

        ``on_commit`` applies the written changes to the fork once they are committed (or the
        savepoint released) - also when the task was cancelled while COMMIT was under way
        and the server committed: the fork then matches the database before the
        cancellation propagates.
        """
        self.check_writable(action)
        platform = self.orm.driver.platform
        tx = self.current
        if tx is not None:
            async with tx.lock:
                name = f"orm_flush_{tx.depth}"
                tx.check_usable(platform.name)
                if platform.savepoints:
                    await tx.connection.savepoint(name)
                try:
                    yield tx.connection
                except BaseException as exc:
                    if platform.savepoints:
                        await rollback_keeping_error(tx.connection.rollback_to_savepoint(name), exc)
                    else:
                        tx.failed = exc
                    raise
                if platform.savepoints:
                    await tx.connection.release_savepoint(name)
            self.note_write()
            if on_commit is not None:
                on_commit()
            return
        if not platform.transactions:
            # No transactions: each batch is atomic on its own. A failure leaves the batches
            # before it written while the fork keeps every change pending (docs/transactions.md).
            async with self.orm.driver.acquire() as connection:
                try:
                    yield connection
                finally:
                    self.note_write()
            if on_commit is not None:
                on_commit()
            return
        async with self.orm.driver.acquire() as connection:
            await connection.begin()
            events = self.orm.events if self.orm.events.transaction_listeners else None
            try:
                yield connection
                if events is not None and self.em is not None:
                    await events.transaction_event("before_commit", self.em)
            except BaseException as exc:
                await rollback_keeping_error(connection.rollback(), exc)
                if events is not None and self.em is not None:
                    await events.transaction_event("after_rollback", self.em)
                raise
            # Before COMMIT: if its answer is lost, the rows may be there all the same.
            self.note_write()
            cancelled = await commit_awaiting_answer(connection)
            if on_commit is not None:
                on_commit()
            if events is not None and self.em is not None:
                await events.transaction_event("after_commit", self.em)
            if cancelled is not None:
                raise cancelled
