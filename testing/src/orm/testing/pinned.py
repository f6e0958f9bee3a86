"""The test's transaction: one connection, pinned for the test, in a transaction rolled back at
its end (docs/testing.md#how-it-works).

While a test runs, ``driver.acquire()`` hands out that one connection; the connection's
``begin()``/``commit()``/``rollback()`` become SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO
SAVEPOINT. So ``em.flush()`` and ``em.transaction()`` work as in production, their writes stay
inside the test's transaction, and its ROLLBACK removes every one of them.

The redirections are attributes set on the driver and connection *instances* and deleted after
the test: the objects keep their classes, so everything that looks at them (the query builder
wants a SQL connection, ``em.get_collection`` a driver with native collections) is unchanged.

One connection serves every task of the test, so uses are serialized: an ``acquire()`` waits
until the connection is given back, except inside a block that holds it (a transaction, a
streamed read, a flush): an ``acquire()`` made there - by the same task, or by a task started
inside the block, such as the dataloader's batch task - takes it without waiting for the block,
serialized only with the other acquires made inside that block. Those would wait for the block,
which waits for them, in a deadlock. A wait that lasts ``wait`` seconds all the same is one: it
fails with a PoolTimeoutError that says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from orm.core.driver import Connection, Driver, IsolationLevel
from orm.core.errors import ConfigurationError, EntityStateError, PoolTimeoutError

_REDIRECTED_CONNECTION_METHODS = ("begin", "commit", "rollback")


@dataclass(eq=False)
class _Hold:
    """One ``async with driver.acquire()`` block of the test, while it holds the connection."""

    owner: PinnedTransaction
    parent: _Hold | None
    # Serializes the acquires made inside this block (by its task or the tasks it started).
    inner: asyncio.Lock = field(default_factory=asyncio.Lock)
    active: bool = True


# The innermost hold of the running task's context: tasks inherit it from where they started.
_HOLD: ContextVar[_Hold | None] = ContextVar("orm_testing_hold", default=None)


class PinnedTransaction:
    """``await start()`` before the test, ``await end()`` after it (rolls everything back)."""

    def __init__(self, driver: Driver, *, test_name: str, wait: float) -> None:
        self.driver = driver
        self.test_name = test_name
        self.wait = wait
        self._stack = AsyncExitStack()
        self._connection: Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._savepoints: list[str] = []
        self._made = 0
        self._ended = False

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise EntityStateError("the test's transaction was not started: call start() first")
        return self._connection

    async def start(self) -> None:
        if "acquire" in vars(self.driver):
            raise ConfigurationError(
                f"{self.test_name}: the driver already hands out a pinned connection; one test "
                f"transaction at a time per ORM (is the orm fixture used by two tests at once?)"
            )
        self._loop = asyncio.get_running_loop()
        connection = await self._stack.enter_async_context(self.driver.acquire())
        try:
            await connection.begin()
        except BaseException:
            await self._stack.aclose()
            raise
        self._connection = connection
        for name in _REDIRECTED_CONNECTION_METHODS:
            setattr(connection, name, getattr(self, f"_{name}"))
        # Everything of the ORM reaches the database through driver.acquire().
        setattr(self.driver, "acquire", self.acquire)  # noqa: B010 - an instance override

    async def end(self) -> None:
        """Give the driver its pool back and roll the test's transaction back."""
        self._ended = True
        if "acquire" in vars(self.driver):
            delattr(self.driver, "acquire")
        connection = self._connection
        if connection is None:
            return
        for name in _REDIRECTED_CONNECTION_METHODS:
            if name in vars(connection):
                delattr(connection, name)
        try:
            await connection.rollback()
        finally:
            self._connection = None
            await self._stack.aclose()

    # -- driver.acquire() while the test runs ----------------------------------------------

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        self._check_usable()
        enclosing = self._enclosing_hold()
        lock = enclosing.inner if enclosing is not None else self._lock
        await self._wait_for(lock, started_inside=enclosing is not None)
        hold = _Hold(self, enclosing)
        _HOLD.set(hold)
        try:
            yield self.connection
        finally:
            hold.active = False
            # Not reset(token): an async generator may be closed from another context.
            if _HOLD.get() is hold:
                _HOLD.set(enclosing)
            lock.release()

    def _check_usable(self) -> None:
        if self._ended:
            raise EntityStateError(
                f"{self.test_name} has ended and its transaction was rolled back; a task it "
                f"started is still using the database: await (or cancel) such tasks before the "
                f"test returns"
            )
        if asyncio.get_running_loop() is not self._loop:
            raise ConfigurationError(
                f"{self.test_name}: the database is used from another event loop than the "
                f"one of the orm fixture (pytest-asyncio's session loop). Run the async "
                f"fixtures that use orm or em on it: @pytest_asyncio.fixture(loop_scope="
                f'"session"), or set asyncio_default_fixture_loop_scope = "session"'
            )

    def _enclosing_hold(self) -> _Hold | None:
        hold = _HOLD.get()
        while hold is not None and (hold.owner is not self or not hold.active):
            hold = hold.parent
        return hold

    async def _wait_for(self, lock: asyncio.Lock, *, started_inside: bool) -> None:
        try:
            await asyncio.wait_for(lock.acquire(), self.wait)
        except TimeoutError:
            where = (
                "other tasks started inside the same block hold it"
                if started_inside
                else "another fork of the test holds it, in a transaction or a streamed read"
            )
            raise PoolTimeoutError(
                f"{self.test_name}: a task waited {self.wait:g} s for the test's connection, "
                f"which every fork of a transactional test shares, one block at a time: "
                f"{where}, probably waiting for this task - a deadlock that the separate "
                f"connections of production would not have. Let one fork finish its "
                f"transaction before the other starts, or mark the test "
                f"@pytest.mark.orm_commit to run it on real connections "
                f"(docs/testing.md#concurrency-inside-a-test)"
            ) from None

    # -- the connection's transaction methods, as savepoints ----------------------------------

    async def _begin(self, isolation_level: IsolationLevel | None = None) -> None:
        # The isolation level is the test transaction's: a savepoint cannot change it.
        self._made += 1
        name = f"orm_test_tx_{self._made}"
        await self.connection.savepoint(name)
        self._savepoints.append(name)

    async def _commit(self) -> None:
        await self.connection.release_savepoint(self._innermost("COMMIT"))
        self._savepoints.pop()

    async def _rollback(self) -> None:
        name = self._innermost("ROLLBACK")
        self._savepoints.pop()
        await self.connection.rollback_to_savepoint(name)
        await self.connection.release_savepoint(name)

    def _innermost(self, action: str) -> str:
        if not self._savepoints:
            raise EntityStateError(
                f"{self.test_name}: {action} without a transaction begun on the test's "
                f"connection; code that sends COMMIT/ROLLBACK itself (em.execute('COMMIT')) "
                f"would end the test's transaction: mark the test @pytest.mark.orm_commit"
            )
        return self._savepoints[-1]
