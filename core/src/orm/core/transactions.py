"""Connections and transactions of an EntityManager fork: reads, flush scopes, savepoints.

Split from entity_manager.py: everything here is about which connection a fork uses and the
transaction (or savepoint) around it; after a rolled-back block the Unit of Work's journal puts
the fork back as it was before the block's flushes (see unit_of_work/journal.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Self, TypeVar

from orm.core import stream as _stream
from orm.core.driver import Connection, ExecuteResult, IsolationLevel, RawStatements, Row
from orm.core.errors import ConnectionError, DriverError, NotSupportedError, ValidationError

if TYPE_CHECKING:
    from orm.core.orm import ORM
    from orm.core.unit_of_work.uow import UnitOfWork

R = TypeVar("R")


class Transaction:
    """The transaction ``em.transaction()`` (or ``em.fork_on``) holds open on one connection.

    ``lock`` serializes the fork's statements on it, ``depth`` counts nested blocks (each a
    savepoint), ``streams`` are the cursors of ``em.stream()`` iterations open on it (closed
    before the transaction ends). ``failed`` is the error of a flush that failed inside it on a
    database without savepoints: nothing can undo that flush alone, so the transaction can only
    roll back.
    """

    __slots__ = ("connection", "depth", "failed", "lock", "streams")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.lock = asyncio.Lock()
        self.depth = 0
        self.streams: list[AsyncIterator[list[Row]]] = []
        self.failed: BaseException | None = None

    def check_usable(self, platform_name: str) -> None:
        """Raise if a failed flush has doomed this transaction (see ``failed``)."""
        if self.failed is not None:
            raise DriverError(
                f"the transaction is rolled back: a flush inside it failed "
                f"({type(self.failed).__name__}: {self.failed}), and {platform_name} has no "
                f"savepoints to undo that flush alone. Nothing of the transaction was committed "
                f"and the fork keeps its changes pending: fix the cause and run the block again"
            ) from self.failed


class Connections:
    """Which connection the statements of one EntityManager fork run on.

    Handed at construction to the fork's Unit of Work, Loader and query builders, so they
    reach the database without calling back into the EntityManager:

    * ``current``: the :class:`Transaction` open on the fork, or None;
    * ``read(operation)``: run one read on the transaction's connection, else a pooled one;
    * ``write_scope(on_commit)``: a connection in a transaction for a flush or an upsert (a
      savepoint inside an open transaction), committed when the block ends.

    ``check_usable`` is called before every read (the global ``orm.em`` refuses to work).
    """

    __slots__ = ("_check_usable", "current", "orm")

    def __init__(self, orm: ORM, check_usable: Callable[[], None]) -> None:
        self.orm = orm
        self.current: Transaction | None = None
        self._check_usable = check_usable

    async def read(self, operation: Callable[[Connection], Awaitable[R]]) -> R:
        """Run ``operation`` on the open transaction's connection (under its lock), else on
        a connection acquired from the pool for it."""
        self._check_usable()
        tx = self.current
        if tx is not None:
            async with tx.lock:
                return await operation(tx.connection)
        async with self.orm.driver.acquire() as connection:
            return await operation(connection)

    async def run_raw(
        self, statement: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> ExecuteResult:
        """Run a statement in the database's own language (``em.execute``) like a read, on a
        connection that implements :class:`RawStatements` (the SQL ones)."""

        async def run(connection: Connection) -> ExecuteResult:
            if not isinstance(connection, RawStatements):
                name = self.orm.driver.platform.name
                raise NotSupportedError(
                    f"the {name} driver runs no raw statements, so em.execute() is not available "
                    f"on it; use em.find() with the filter language, or the driver's own raw "
                    f"access (see its page under docs/drivers/)"
                )
            return await connection.run_raw(statement, params)

        return await self.read(run)

    @asynccontextmanager
    async def write_scope(
        self, on_commit: Callable[[], None] | None = None
    ) -> AsyncIterator[Connection]:
        """A connection in a transaction for a flush: the surrounding one (savepoint) or new;
        with no transaction at all on a driver without them (``Platform.transactions``).

        ``on_commit`` applies the written changes to the fork once they are committed (or the
        savepoint released) - also when the task was cancelled while COMMIT was under way
        and the server committed: the fork then matches the database before the
        cancellation propagates.
        """
        tx = self.current
        if tx is not None:
            async with tx.lock:
                savepoints = self.orm.driver.platform.savepoints
                name = f"orm_flush_{tx.depth}"
                tx.check_usable(self.orm.driver.platform.name)
                if savepoints:
                    await tx.connection.savepoint(name)
                try:
                    yield tx.connection
                except BaseException as exc:
                    if savepoints:
                        await rollback_keeping_error(tx.connection.rollback_to_savepoint(name), exc)
                    else:
                        tx.failed = exc
                    raise
                if savepoints:
                    await tx.connection.release_savepoint(name)
            if on_commit is not None:
                on_commit()
            return
        if not self.orm.driver.platform.transactions:
            # No transactions: each batch is atomic on its own. A failure leaves the batches
            # before it written while the fork keeps every change pending (docs/transactions.md).
            async with self.orm.driver.acquire() as connection:
                yield connection
            if on_commit is not None:
                on_commit()
            return
        async with self.orm.driver.acquire() as connection:
            await connection.begin()
            try:
                yield connection
            except BaseException as exc:
                await rollback_keeping_error(connection.rollback(), exc)
                raise
            cancelled = await _commit(connection)
            if on_commit is not None:
                on_commit()
            if cancelled is not None:
                raise cancelled


class TransactionScope:
    """The transaction half of :class:`~orm.core.entity_manager.EntityManager`."""

    orm: ORM
    connections: Connections
    unit_of_work: UnitOfWork

    def _usable(self) -> None:
        raise NotImplementedError

    async def flush(self) -> None:
        raise NotImplementedError

    # -- transactions ----------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(
        self, *, isolation_level: IsolationLevel | None = None
    ) -> AsyncIterator[Self]:
        """``async with em.transaction():`` - flushes and commits on success, rolls back on error.

        Nested blocks become savepoints: an error inside one rolls back only that block. A
        driver without transactions (``Platform.transactions``), or a nested block on one
        without savepoints (``Platform.savepoints``), raises a ValidationError before any I/O.
        """
        self._usable()
        connections = self.connections
        tx = connections.current
        platform = self.orm.driver.platform
        if tx is None and not platform.transactions:
            raise ValidationError(
                f"the {platform.name} driver has no transactions (Platform.transactions is "
                f"False), so em.transaction() cannot make its block atomic; call em.flush() "
                f"instead, where each write is atomic on its own"
            )
        if tx is not None:
            if isolation_level is not None:
                raise ValidationError(
                    "isolation_level can only be set on the outermost transaction"
                )
            if not platform.savepoints:
                raise ValidationError(
                    f"the {platform.name} driver has no savepoints (Platform.savepoints is "
                    f"False), so em.transaction() cannot be nested inside an open transaction; "
                    f"use the outer block only, or run the inner work in its own fork (a "
                    f"separate transaction)"
                )
            tx.depth += 1
            name = f"orm_sp_{tx.depth}"
            try:
                async with tx.lock:
                    await tx.connection.savepoint(name)
                depth = self.unit_of_work.open_journal()
                committed = False
                try:
                    yield self
                    await self.flush()
                    async with tx.lock:
                        await tx.connection.release_savepoint(name)
                    committed = True
                except BaseException as exc:
                    async with tx.lock:
                        await rollback_keeping_error(tx.connection.rollback_to_savepoint(name), exc)
                    raise
                finally:
                    # Rolled back: the fork is put back as it was before the block's flushes.
                    self.unit_of_work.close_journal(depth, committed=committed)
            finally:
                tx.depth -= 1
            return
        async with self.orm.driver.acquire() as connection:
            await connection.begin(isolation_level)
            connections.current = tx = Transaction(connection)
            depth = self.unit_of_work.open_journal()
            committed = False
            cancelled: asyncio.CancelledError | None = None
            try:
                yield self
                await self.flush()
                tx.check_usable(platform.name)
                await _stream.close_streams(tx)
                connections.current = None
                cancelled = await _commit(connection)
                committed = True
            except BaseException as exc:
                connections.current = None
                await rollback_keeping_error(_stream.close_streams(tx), exc)
                await rollback_keeping_error(connection.rollback(), exc)
                raise
            finally:
                # Rolled back: the fork is put back as it was before the transaction's flushes.
                self.unit_of_work.close_journal(depth, committed=committed)
            if cancelled is not None:
                raise cancelled  # after COMMIT succeeded: the fork keeps the committed state

    async def transactional(
        self,
        work: Callable[[Self], Awaitable[R]],
        *,
        isolation_level: IsolationLevel | None = None,
    ) -> R:
        """Run ``work(em)`` in a transaction; flush and commit if it returns, else roll back."""
        async with self.transaction(isolation_level=isolation_level) as em:
            return await work(em)

    @property
    def in_transaction(self) -> bool:
        return self.connections.current is not None


async def _commit(connection: Connection) -> asyncio.CancelledError | None:
    """COMMIT, and wait for its answer even if the task is cancelled meanwhile.

    Once COMMIT is sent only its answer tells whether the transaction was committed. A
    cancellation that cut the wait short would leave the fork claiming that changes the
    database already holds are still pending, and the next flush would write them twice. So
    the cancellation is held back until the answer arrives and returned, for the caller to
    raise once the fork matches the outcome. A COMMIT that failed raises its own error (or,
    after a cancellation, the cancellation with the error as a note): nothing was applied.
    """
    committing = asyncio.ensure_future(_commit_or_unknown(connection))
    cancelled: asyncio.CancelledError | None = None
    while not committing.done():
        try:
            await asyncio.shield(committing)
        except asyncio.CancelledError as exc:
            if not committing.done():
                cancelled = cancelled or exc
        except BaseException:
            break  # COMMIT failed: handled below
    if cancelled is None:
        committing.result()  # re-raises the error of a failed COMMIT
        return None
    error = committing.exception()
    if error is not None:
        cancelled.add_note(f"COMMIT failed as well: {error}")
        raise cancelled
    return cancelled


async def _commit_or_unknown(connection: Connection) -> None:
    """COMMIT. If the connection breaks meanwhile, the server may or may not have committed:
    the error says so instead of the usual "rolled back, retry" of a broken connection."""
    try:
        await connection.commit()
    except ConnectionError as exc:
        native = exc.__cause__ or exc
        raise ConnectionError(
            f"the connection broke during COMMIT, so whether the transaction was committed is "
            f"unknown ({type(native).__name__}: {native}). The fork keeps its changes pending, as "
            f"if nothing was committed; read the rows back (or make the write idempotent, e.g. "
            f"with em.upsert) before flushing or retrying it",
            sql=exc.sql,
        ) from exc


async def rollback_keeping_error(rollback: Awaitable[None], cause: BaseException) -> None:
    """Roll back after ``cause``; a failing rollback (the server may have rolled back already,
    e.g. after a deadlock, or the connection is gone) must not hide the error that caused it:
    it becomes a note on ``cause``, which the caller re-raises."""
    try:
        await rollback
    except Exception as exc:
        cause.add_note(f"the rollback that followed also failed: {type(exc).__name__}: {exc}")
