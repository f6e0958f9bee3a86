"""Transactions of an EntityManager fork: ``em.transaction()``, savepoints, COMMIT.

Split from entity_manager.py: the transaction (or savepoint) around a block of work, and the
COMMIT whose answer must be awaited; which connection a statement runs on is
:mod:`orm.core.connections`, and what a block does with a transaction already open on the fork
(join it, a savepoint, a new one...) is :mod:`orm.core.propagation`. After a rolled-back block
the Unit of Work's journal puts the fork back as it was before the block's flushes (see
unit_of_work/journal.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Self, TypeVar, cast

from orm.core import stream as _stream
from orm.core.driver import Connection, IsolationLevel, Row
from orm.core.errors import ConnectionError, DriverError
from orm.core.propagation import Block, Propagation, PropagationName, block_for, parse_propagation

if TYPE_CHECKING:
    from orm.core.connections import Connections
    from orm.core.orm import ORM
    from orm.core.unit_of_work.uow import UnitOfWork

R = TypeVar("R")


class Transaction:
    """The transaction ``em.transaction()`` (or ``em.fork_on``) holds open on one connection.

    ``lock`` serializes the fork's statements on it, ``depth`` counts nested blocks (each a
    savepoint), ``streams`` are the cursors of ``em.stream()`` iterations open on it (closed
    before the transaction ends). ``failed`` is the error that doomed it: a flush that failed
    inside it on a database without savepoints (nothing can undo that flush alone), or a block
    that joined it (``propagation="required"``) and failed, whose writes are part of it. A doomed
    transaction can only roll back - or, for a joined block's failure, roll back to the
    savepoint of an enclosing nested block (``failed_depth`` is the depth it failed at).
    """

    __slots__ = (
        "connection",
        "depth",
        "failed",
        "failed_depth",
        "failed_joined",
        "lock",
        "streams",
    )

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.lock = asyncio.Lock()
        self.depth = 0
        self.streams: list[AsyncIterator[list[Row]]] = []
        self.failed: BaseException | None = None
        self.failed_joined = False
        self.failed_depth = 0

    def check_usable(self, platform_name: str) -> None:
        """Raise if a failure has doomed this transaction (see ``failed``)."""
        if self.failed is None:
            return
        if self.failed_joined:
            raise DriverError(
                f"the transaction is rolled back: a block that joined it "
                f'(propagation="required", "supports" or "mandatory") failed '
                f"({type(self.failed).__name__}: {self.failed}), and a joined block shares the "
                f"transaction, so what it wrote cannot be undone alone. Nothing of the "
                f"transaction was committed and the fork keeps its changes pending: let the "
                f'error propagate, or give the inner block propagation="nested" (a savepoint) '
                f"if the outer block should go on after it fails"
            ) from self.failed
        raise DriverError(
            f"the transaction is rolled back: a flush inside it failed "
            f"({type(self.failed).__name__}: {self.failed}), and {platform_name} has no "
            f"savepoints to undo that flush alone. Nothing of the transaction was committed "
            f"and the fork keeps its changes pending: fix the cause and run the block again"
        ) from self.failed

    def fail_joined(self, error: BaseException) -> None:
        """A joined block failed: doom the transaction (or the enclosing nested block)."""
        if self.failed is None:
            self.failed, self.failed_joined, self.failed_depth = error, True, self.depth

    def forgive(self, depth: int) -> None:
        """The nested block at ``depth`` rolled back to its savepoint, undoing what a joined
        block that failed inside it wrote: the transaction is usable again."""
        if self.failed is not None and self.failed_joined and self.failed_depth >= depth:
            self.failed, self.failed_joined, self.failed_depth = None, False, 0


class TransactionScope:
    """The transaction half of :class:`~orm.core.entity_manager.EntityManager`."""

    orm: ORM
    connections: Connections
    unit_of_work: UnitOfWork

    def _usable(self) -> None:
        raise NotImplementedError

    async def flush(self) -> None:
        raise NotImplementedError

    def fork(self, *, read_only: bool = False) -> TransactionScope:
        raise NotImplementedError

    @property
    def read_only(self) -> bool:
        raise NotImplementedError

    # -- transactions ----------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(
        self,
        *,
        isolation_level: IsolationLevel | None = None,
        propagation: Propagation | PropagationName = Propagation.NESTED,
    ) -> AsyncIterator[Self]:
        """``async with em.transaction():`` - flushes and commits on success, rolls back on error.

        ``propagation`` says what the block does with a transaction already open on the fork
        (docs/transactions.md#propagation): ``"nested"`` (the default) makes it a savepoint, so
        an error inside it rolls back only that block; ``"required"`` joins it;
        ``"requires_new"`` and ``"not_supported"`` run the block on a new fork (the one the
        ``async with`` gives) in a transaction of its own, or in none; ``"supports"``,
        ``"mandatory"`` and ``"never"`` join it or run without one. What a mode or the driver
        cannot do (``Platform.transactions``, ``Platform.savepoints``) raises before any I/O.
        """
        self._usable()
        mode = parse_propagation(propagation)
        tx = self.connections.current
        block = block_for(
            mode,
            in_transaction=tx is not None,
            driver=self.orm.driver,
            isolation_level=isolation_level,
        )
        if block is Block.BEGIN:
            async with self._begun(isolation_level):
                yield self
        elif block is Block.WITHOUT:
            yield self
            await self.flush()
        elif block is Block.NEW_FORK_BEGIN or block is Block.NEW_FORK_WITHOUT:
            # A block of its own, on a fork that shares nothing with this one (no entity, no
            # pending change, no transaction): this fork and its transaction wait unchanged.
            inner = cast(Self, self.fork(read_only=self.read_only))
            within = Propagation.REQUIRED if block is Block.NEW_FORK_BEGIN else Propagation.NEVER
            async with inner.transaction(isolation_level=isolation_level, propagation=within):
                yield inner
        else:
            assert tx is not None  # a savepoint or a joined block: block_for saw it open
            async with self._savepoint(tx) if block is Block.SAVEPOINT else self._joined(tx):
                yield self

    @asynccontextmanager
    async def _begun(self, isolation_level: IsolationLevel | None) -> AsyncIterator[None]:
        """BEGIN on a new connection; flush and COMMIT after the block, or ROLLBACK."""
        connections = self.connections
        platform = self.orm.driver.platform
        async with self.orm.driver.acquire() as connection:
            await connection.begin(isolation_level)
            connections.current = tx = Transaction(connection)
            depth = self.unit_of_work.open_journal()
            committed = False
            cancelled: asyncio.CancelledError | None = None
            events = self.orm.events if self.orm.events.transaction_listeners else None
            try:
                yield
                await self.flush()
                tx.check_usable(platform.name)
                if events is not None:
                    await events.transaction_event("before_commit", self)
                await _stream.close_streams(tx)
                connections.current = None
                cancelled = await commit_awaiting_answer(connection)
                committed = True
            except BaseException as exc:
                connections.current = None
                await rollback_keeping_error(_stream.close_streams(tx), exc)
                await rollback_keeping_error(connection.rollback(), exc)
                if events is not None:
                    await events.transaction_event("after_rollback", self)
                raise
            finally:
                # Rolled back: the fork is put back as it was before the transaction's flushes.
                self.unit_of_work.close_journal(depth, committed=committed)
            if events is not None:
                await events.transaction_event("after_commit", self)
            if cancelled is not None:
                raise cancelled  # after COMMIT succeeded: the fork keeps the committed state

    @asynccontextmanager
    async def _savepoint(self, tx: Transaction) -> AsyncIterator[None]:
        """SAVEPOINT in the open transaction; flush and RELEASE after the block, or ROLLBACK TO
        it - which also undoes a joined block that failed inside it."""
        tx.depth += 1
        name = f"orm_sp_{tx.depth}"
        try:
            async with tx.lock:
                await tx.connection.savepoint(name)
            depth = self.unit_of_work.open_journal()
            committed = False
            try:
                yield
                await self.flush()
                tx.check_usable(self.orm.driver.platform.name)
                async with tx.lock:
                    await tx.connection.release_savepoint(name)
                committed = True
            except BaseException as exc:
                async with tx.lock:
                    await rollback_keeping_error(tx.connection.rollback_to_savepoint(name), exc)
                tx.forgive(tx.depth)
                raise
            finally:
                # Rolled back: the fork is put back as it was before the block's flushes.
                self.unit_of_work.close_journal(depth, committed=committed)
        finally:
            tx.depth -= 1

    @asynccontextmanager
    async def _joined(self, tx: Transaction) -> AsyncIterator[None]:
        """The open transaction, joined: the block's flushes are the outer transaction's, kept
        or undone with it. A failure dooms it, since nothing can undo the block alone."""
        tx.check_usable(self.orm.driver.platform.name)
        try:
            yield
            await self.flush()
        except BaseException as exc:
            tx.fail_joined(exc)
            raise

    async def transactional(
        self,
        work: Callable[[Self], Awaitable[R]],
        *,
        isolation_level: IsolationLevel | None = None,
        propagation: Propagation | PropagationName = Propagation.NESTED,
    ) -> R:
        """Run ``work(em)`` in a transaction; flush and commit if it returns, else roll back.

        ``work`` gets the fork the block runs on: a new one for ``propagation="requires_new"``
        and ``"not_supported"``, else this one."""
        async with self.transaction(isolation_level=isolation_level, propagation=propagation) as em:
            return await work(em)

    @property
    def in_transaction(self) -> bool:
        return self.connections.current is not None


async def commit_awaiting_answer(connection: Connection) -> asyncio.CancelledError | None:
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
