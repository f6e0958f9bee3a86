"""Row locks (``lock_mode``) and transaction isolation levels, with two concurrent forks.

Each test holds two transactions open at once on two pooled connections. Waiting is proven by
what the blocked side reads (the other side's committed change), never by timing.
"""

from __future__ import annotations

import asyncio

import pytest

from orm.core import (
    ORM,
    DeadlockError,
    IsolationLevel,
    LockMode,
    LockWaitError,
    ValidationError,
)

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author

WRITE = LockMode.PESSIMISTIC_WRITE
READ = LockMode.PESSIMISTIC_READ


async def _authors(orm: ORM, count: int = 3) -> list[int]:
    em = orm.em.fork()
    authors = [Author(f"a{i}", f"a{i}@x.io", age=i) for i in range(count)]
    em.persist(authors)
    await em.flush()
    return [a.id for a in authors]


@pytest.mark.capability("lock_modes", "concurrent_connections")
async def test_for_update_nowait_fails_while_another_transaction_holds_the_row(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    first_id, *_ = await _authors(orm)
    holder = orm.em.fork()
    async with holder.transaction():
        locked = await holder.find(Author, {"id": first_id}, lock_mode=WRITE)
        assert [a.id for a in locked] == [first_id]
        assert any("FOR UPDATE" in s.upper() for s in sql_log.of_kind("SELECT"))
        other = orm.em.fork()
        with pytest.raises(LockWaitError) as info:
            async with other.transaction():
                await other.find(Author, {"id": first_id}, lock_mode=WRITE, lock_nowait=True)
        assert "NOWAIT" in (info.value.sql or "").upper()
        # Rows nobody holds are free.
        async with other.transaction():
            free = await other.find(
                Author, {"id": {"$ne": first_id}}, lock_mode=WRITE, lock_nowait=True
            )
            assert len(free) == 2
    # Once the holder committed, the row can be locked.
    after = orm.em.fork()
    async with after.transaction():
        again = await after.find(Author, {"id": first_id}, lock_mode=WRITE, lock_nowait=True)
        assert [a.id for a in again] == [first_id]


@pytest.mark.capability("lock_modes", "concurrent_connections")
async def test_for_update_waits_until_the_holder_commits(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    first_id, *_ = await _authors(orm)
    locked = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        em = orm.em.fork()
        async with em.transaction():
            (author,) = await em.find(Author, {"id": first_id}, lock_mode=WRITE)
            author.name = "changed by the holder"
            await em.flush()
            locked.set()
            await release.wait()

    async def waiter() -> str:
        await locked.wait()
        em = orm.em.fork()
        async with em.transaction():
            (author,) = await em.find(Author, {"id": first_id}, lock_mode=WRITE)
            return author.name

    holding = asyncio.create_task(holder())
    waiting = asyncio.create_task(waiter())
    await locked.wait()
    await asyncio.sleep(0.2)  # give the waiter time to reach the lock (not an assertion)
    assert not waiting.done(), "FOR UPDATE did not wait for the row lock"
    release.set()
    await holding
    # The waiter read the row only after the holder committed, so it sees the new name.
    assert await asyncio.wait_for(waiting, 10) == "changed by the holder"


@pytest.mark.capability("lock_modes", "skip_locked", "concurrent_connections")
async def test_skip_locked_skips_rows_another_transaction_holds(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    first_id, second_id, third_id = await _authors(orm)
    holder = orm.em.fork()
    async with holder.transaction():
        await holder.find(Author, {"id": second_id}, lock_mode=WRITE)
        worker = orm.em.fork()
        async with worker.transaction():
            sql_log.clear()
            free = await worker.find(
                Author, lock_mode=WRITE, lock_skip_locked=True, order_by={"id": "asc"}
            )
            assert [a.id for a in free] == [first_id, third_id]
            assert "SKIP LOCKED" in sql_log.of_kind("SELECT")[-1].upper()
        # A queue consumer takes the next free row with limit=1.
        consumer = orm.em.fork()
        async with consumer.transaction():
            taken = await consumer.find(
                Author,
                {"id": {"$ne": first_id}},
                lock_mode=WRITE,
                lock_skip_locked=True,
                order_by={"id": "asc"},
                limit=1,
            )
            assert [a.id for a in taken] == [third_id]


@pytest.mark.capability("lock_modes", "concurrent_connections")
async def test_shared_locks_let_readers_in_and_keep_writers_out(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    first_id, *_ = await _authors(orm)
    reader = orm.em.fork()
    async with reader.transaction():
        sql_log.clear()
        await reader.find_one(Author, {"id": first_id}, lock_mode=READ)
        assert "SHARE" in sql_log.of_kind("SELECT")[-1].upper()
        second_reader = orm.em.fork()
        async with second_reader.transaction():
            shared = await second_reader.find(
                Author, {"id": first_id}, lock_mode=READ, lock_nowait=True
            )
            assert len(shared) == 1
        writer = orm.em.fork()
        with pytest.raises(LockWaitError):
            async with writer.transaction():
                await writer.find(Author, {"id": first_id}, lock_mode=WRITE, lock_nowait=True)


@pytest.mark.capability("lock_modes")
async def test_a_lock_needs_a_transaction(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    with pytest.raises(ValidationError, match="transaction"):
        await orm.em.fork().find(Author, lock_mode=WRITE)


@pytest.mark.capability("lock_modes", "concurrent_connections")
async def test_a_failed_nowait_lock_rolls_back_only_its_savepoint(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    first_id, second_id, _ = await _authors(orm)
    holder = orm.em.fork()
    async with holder.transaction():
        await holder.find(Author, {"id": first_id}, lock_mode=WRITE)
        em = orm.em.fork()
        async with em.transaction():
            (other,) = await em.find(Author, {"id": second_id}, lock_mode=WRITE)
            with pytest.raises(LockWaitError):
                async with em.transaction():  # a savepoint
                    await em.find(Author, {"id": first_id}, lock_mode=WRITE, lock_nowait=True)
            other.name = "still writable"
    assert (await orm.em.fork().find_one_or_fail(Author, second_id)).name == "still writable"


# -- isolation levels ----------------------------------------------------------------------


def _require_level(orm: ORM, level: IsolationLevel) -> None:
    platform = orm.driver.platform
    if level not in platform.isolation_levels:
        pytest.skip(
            f"{platform.name} lacks the isolation level {level.value} (Platform.isolation_levels)"
        )


@pytest.mark.capability("isolation_levels")
@pytest.mark.parametrize("level", list(IsolationLevel), ids=lambda level: level.name)
async def test_each_supported_isolation_level_commits(
    make_orm: MakeOrm, level: IsolationLevel
) -> None:
    orm = await make_orm(LIBRARY)
    _require_level(orm, level)
    em = orm.em.fork()
    async with em.transaction(isolation_level=level):
        em.persist(Author("Iso", f"{level.name.lower()}@x.io"))
    assert await orm.em.fork().count(Author) == 1


@pytest.mark.capability("isolation_levels")
async def test_an_unsupported_isolation_level_is_a_validation_error(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    missing = [lvl for lvl in IsolationLevel if lvl not in orm.driver.platform.isolation_levels]
    if not missing:  # nothing to refuse: every level is offered
        assert set(orm.driver.platform.isolation_levels) == set(IsolationLevel)
        return
    with pytest.raises(ValidationError, match=f"IsolationLevel.{missing[0].name}"):
        async with orm.em.fork().transaction(isolation_level=missing[0]):
            pass


@pytest.mark.capability("isolation_levels", "concurrent_connections")
async def test_repeatable_read_does_not_see_a_concurrent_commit(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    _require_level(orm, IsolationLevel.REPEATABLE_READ)
    _require_level(orm, IsolationLevel.READ_COMMITTED)
    await _authors(orm, 1)
    counts: dict[IsolationLevel, tuple[int, int]] = {}
    for level in (IsolationLevel.REPEATABLE_READ, IsolationLevel.READ_COMMITTED):
        em = orm.em.fork()
        async with em.transaction(isolation_level=level):
            before = await em.count(Author)
            writer = orm.em.fork()
            writer.persist(Author(f"new {level.name}", f"{level.name.lower()}@new.io"))
            await writer.flush()  # commits on its own connection
            counts[level] = (before, await em.count(Author))
    assert counts[IsolationLevel.REPEATABLE_READ] == (1, 1)  # a snapshot for the transaction
    assert counts[IsolationLevel.READ_COMMITTED] == (2, 3)  # every statement sees new commits


@pytest.mark.capability("isolation_levels", "concurrent_connections")
async def test_serializable_rejects_write_skew(make_orm: MakeOrm) -> None:
    """Two transactions each check "no author yet" and insert one: only one may commit."""
    orm = await make_orm(LIBRARY)
    _require_level(orm, IsolationLevel.SERIALIZABLE)
    read = [asyncio.Event(), asyncio.Event()]

    async def claim(index: int) -> None:
        em = orm.em.fork()
        async with em.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
            assert await em.count(Author) == 0
            read[index].set()
            await read[1 - index].wait()
            em.persist(Author(f"claim {index}", f"claim{index}@x.io"))

    results = await asyncio.wait_for(asyncio.gather(claim(0), claim(1), return_exceptions=True), 30)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1, results
    assert isinstance(failures[0], DeadlockError), failures[0]
    assert await orm.em.fork().count(Author) == 1
