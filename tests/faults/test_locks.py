"""Deadlocks and lock waits between forks surface as portable, retryable errors.

tests/compliance/test_locking.py covers locking reads (NOWAIT, SKIP LOCKED, shared locks) and
a serialization failure; tests/drivers/*/test_errors.py a deadlock through raw SQL. Here the
locks are taken by the unit of work itself (changes + flush inside ``em.transaction()``), and
``retry_transaction`` (docs/scaling.md#retrying-transactions) is run to the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from orm.core import ORM, EntityManager, retry_transaction
from orm.core.errors import DeadlockError, LockWaitError
from tests.compliance.models import Author

from .checks import check_pool
from .conftest import FaultRig, Figures

EMAILS = ("a@x.io", "b@x.io")


async def two_authors(orm: ORM) -> None:
    em = orm.em.fork()
    await em.execute("DELETE FROM author")
    em.persist([Author("A", EMAILS[0], age=0), Author("B", EMAILS[1], age=0)])
    await em.flush()


async def ages(orm: ORM) -> dict[str, int | None]:
    return {a.email: a.age for a in await orm.em.fork().find(Author)}


async def with_retries(
    orm: ORM, work: Callable[[EntityManager], Awaitable[None]], attempts: int = 5
) -> int:
    """``retry_transaction`` of ``work`` (a fresh fork per attempt, the whole transaction
    again on DeadlockError); returns the attempts it took."""
    tried = 0

    async def counted(em: EntityManager) -> None:
        nonlocal tried
        tried += 1
        await work(em)

    await retry_transaction(orm.em, counted, attempts=attempts)
    return tried


async def test_opposite_update_order_is_a_retryable_deadlock(
    rig: FaultRig, figures: Figures
) -> None:
    orm = rig.proxied
    await two_authors(orm)
    first_locked = [asyncio.Event(), asyncio.Event()]

    async def worker(index: int) -> None:
        first, second = EMAILS if index == 0 else EMAILS[::-1]
        em = orm.em.fork()
        async with em.transaction():
            row = await em.find_one_or_fail(Author, {"email": first})
            row.age = 10 + index
            await em.flush()  # UPDATE: this transaction now holds the row lock
            first_locked[index].set()
            await first_locked[1 - index].wait()
            other = await em.find_one_or_fail(Author, {"email": second})
            other.age = 20 + index
            await em.flush()  # waits for the other transaction: one of them is the victim

    results = await asyncio.wait_for(
        asyncio.gather(worker(0), worker(1), return_exceptions=True), 60
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1, results
    error = failures[0]
    assert isinstance(error, DeadlockError), repr(error)
    figures.add("deadlocks")
    message = str(error).lower()
    assert "deadlock" in message and "retry" in message, message
    # The survivor committed both of its rows; the victim wrote nothing.
    survivor = results.index(None)
    assert set((await ages(orm)).values()) == {10 + survivor, 20 + survivor}
    await check_pool(rig, figures)


async def test_the_retry_pattern_completes_both_transactions(
    rig: FaultRig, figures: Figures
) -> None:
    orm = rig.proxied
    await two_authors(orm)
    first_locked = [asyncio.Event(), asyncio.Event()]

    def transfer(index: int) -> Callable[[EntityManager], Awaitable[None]]:
        first, second = EMAILS if index == 0 else EMAILS[::-1]

        async def work(em: EntityManager) -> None:
            row = await em.find_one_or_fail(Author, {"email": first})
            row.age = (row.age or 0) + 1
            await em.flush()
            if not first_locked[index].is_set():  # collide on the first attempt only
                first_locked[index].set()
                await first_locked[1 - index].wait()
            other = await em.find_one_or_fail(Author, {"email": second})
            other.age = (other.age or 0) + 1
            await em.flush()

        return work

    attempts = await asyncio.wait_for(
        asyncio.gather(with_retries(orm, transfer(0)), with_retries(orm, transfer(1))), 60
    )
    figures.add("deadlocks", sum(attempts) - 2)
    assert sorted(attempts)[1] >= 2, attempts  # one of them was the victim and retried
    assert await ages(orm) == {EMAILS[0]: 2, EMAILS[1]: 2}  # both increments, once each
    await check_pool(rig, figures)


async def test_a_lock_wait_timeout_is_a_lock_wait_error(rig: FaultRig, figures: Figures) -> None:
    orm = rig.proxied
    await two_authors(orm)
    set_timeout = {
        "postgres": "SET LOCAL lock_timeout = '200ms'",
        "mariadb": "SET SESSION innodb_lock_wait_timeout = 1",  # whole seconds only
    }[rig.server]
    holder = orm.em.fork()
    waiter = orm.em.fork()
    async with holder.transaction():
        (held,) = await holder.find(Author, {"email": EMAILS[0]})
        held.age = 1
        await holder.flush()  # holds the row lock until the block ends
        with pytest.raises(LockWaitError) as info:
            async with waiter.transaction():
                await waiter.execute(set_timeout)
                (wanted,) = await waiter.find(Author, {"email": EMAILS[0]})
                wanted.name = "waiter"
                await waiter.flush()
        figures.add("lock_waits")
        message = str(info.value)
        assert "author" in message and "retry" in message.lower(), message
    # The waiter's change is still pending (its transaction rolled back); now it goes through.
    async with waiter.transaction():
        pass
    stored = await orm.em.fork().find_one_or_fail(Author, {"email": EMAILS[0]})
    assert (stored.name, stored.age) == ("waiter", 1)
    await check_pool(rig, figures)
