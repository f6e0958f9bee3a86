"""Transactions of an EntityManager fork: ``em.transaction()``, savepoints, COMMIT.

Split from entity_manager.py: the transaction (or savepoint) around a block of work, and the
COMMIT whose answer must be awaited; which connection a statement runs on is
:mod:`orm.core.connections`. After a rolled-back block the Unit of Work's journal puts the fork
back as it was before the block's flushes (see unit_of_work/journal.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Self, TypeVar

from orm.core import stream as _stream
from orm.core.driver import Connection, IsolationLevel, Row
from orm.core.errors import ConnectionError, DriverError, ValidationError

if TYPE_CHECKING:
    from orm.core.connections import Connections
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
                cancelled = await commit_awaiting_answer(connection)
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
