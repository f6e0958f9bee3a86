"""``retry_transaction``: a conflict runs the work again on a fresh fork; nothing else does.

The unit-level checks (what is retried, the note when attempts run out, argument checks, the
result and the commit, a failed attempt leaving nothing) run on every database, with ``work``
raising a TransactionConflictError itself. The concurrent ones make two tasks really conflict,
and check that both complete with what running them one after the other gives:

* write skew under SERIALIZABLE: a serialization failure at COMMIT on PostgreSQL, a deadlock
  on MariaDB (its SERIALIZABLE reads take shared locks);
* row locks taken in opposite order: a deadlock;
* two read-modify-writes of one row: a serialization failure on PostgreSQL, a deadlock on
  MariaDB, a write conflict on MongoDB.

An asyncio.Event makes the first attempts collide; retries never wait on one, so the test
never depends on timing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from orm.core import (
    ORM,
    DeadlockError,
    EntityManager,
    IsolationLevel,
    LockMode,
    TransactionConflictError,
    UniqueConstraintViolation,
    ValidationError,
    retry_transaction,
)
from orm.core.retry import MAX_PAUSE, pause_before_retry

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author

EMAILS = ("a@x.io", "b@x.io")
Work = Callable[[EntityManager], Awaitable[Any]]


async def _two_authors(orm: ORM, *, age: int) -> None:
    em = orm.em.fork()
    em.persist([Author("A", EMAILS[0], age=age), Author("B", EMAILS[1], age=age)])
    await em.flush()


async def _ages(orm: ORM) -> dict[str, int | None]:
    return {a.email: a.age for a in await orm.em.fork().find(Author)}


def _conflicts(caplog: pytest.LogCaptureFixture) -> list[TransactionConflictError]:
    """The conflicts retry_transaction retried, from its log records."""
    return [r.conflict for r in caplog.records if r.name == "orm.retry"]  # type: ignore[attr-defined]


def _strongest_level(orm: ORM) -> IsolationLevel | None:
    """SERIALIZABLE where the database offers it; else its default (MongoDB: snapshot)."""
    levels = orm.driver.platform.isolation_levels
    return IsolationLevel.SERIALIZABLE if IsolationLevel.SERIALIZABLE in levels else None


# -- every database ------------------------------------------------------------------------


async def test_the_result_is_returned_and_the_writes_committed(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    forks: list[EntityManager] = []

    async def work(em: EntityManager) -> str:
        forks.append(em)
        assert em.in_transaction
        em.persist(Author("Ann", "ann@x.io"))
        return "done"

    # The global orm.em will do: retry_transaction only forks it.
    assert await retry_transaction(orm.em, work) == "done"
    assert len(forks) == 1 and forks[0] is not orm.em
    assert list(await _ages(orm)) == ["ann@x.io"]


@pytest.mark.parametrize("conflict", [TransactionConflictError, DeadlockError])
async def test_a_conflict_runs_the_work_again_on_a_fresh_fork(
    make_orm: MakeOrm, conflict: type[TransactionConflictError], caplog: pytest.LogCaptureFixture
) -> None:
    orm = await make_orm(LIBRARY)
    seed = orm.em.fork()
    seed.persist(Author("Original", "o@x.io"))
    await seed.flush()
    caplog.set_level(logging.INFO, logger="orm.retry")
    forks: list[EntityManager] = []
    names_read: list[str] = []

    async def work(em: EntityManager) -> int:
        forks.append(em)
        attempt = len(forks)
        author = await em.find_one_or_fail(Author, {"email": "o@x.io"})
        names_read.append(author.name)
        author.name = f"changed by attempt {attempt}"
        em.persist(Author(f"try {attempt}", f"try{attempt}@x.io"))
        await em.flush()  # written inside the attempt's transaction, then rolled back
        if attempt < 3:
            raise conflict(f"simulated conflict {attempt}")
        return attempt

    assert await retry_transaction(orm.em, work, attempts=3, backoff=0) == 3
    assert len({id(fork) for fork in forks}) == 3
    # Each attempt read the row as stored, not what the failed attempt had changed in memory.
    assert names_read == ["Original"] * 3
    stored = await orm.em.fork().find(Author, order_by={"email": "asc"})
    assert [(a.email, a.name) for a in stored] == [
        ("o@x.io", "changed by attempt 3"),
        ("try3@x.io", "try 3"),
    ]
    assert [str(error) for error in _conflicts(caplog)] == [
        "simulated conflict 1",
        "simulated conflict 2",
    ]


async def test_other_errors_propagate_without_a_retry(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    seed = orm.em.fork()
    seed.persist(Author("Ann", "ann@x.io"))
    await seed.flush()
    runs = 0

    async def duplicate(em: EntityManager) -> None:
        nonlocal runs
        runs += 1
        em.persist(Author("Another Ann", "ann@x.io"))

    with pytest.raises(UniqueConstraintViolation) as unique:
        await retry_transaction(orm.em, duplicate, attempts=5, backoff=0)
    assert runs == 1
    assert not any("gave up" in note for note in getattr(unique.value, "__notes__", []))

    async def broken(em: EntityManager) -> None:
        nonlocal runs
        runs += 1
        em.persist(Author("Bob", "bob@x.io"))
        await em.flush()
        raise ValueError("not a conflict")

    runs = 0
    with pytest.raises(ValueError, match="not a conflict"):
        await retry_transaction(orm.em, broken, attempts=5, backoff=0)
    assert runs == 1
    assert list(await _ages(orm)) == ["ann@x.io"]  # Bob's flush was rolled back


async def test_when_attempts_run_out_the_last_conflict_is_raised_with_a_note(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(LIBRARY)
    runs = 0

    async def always_conflicts(em: EntityManager) -> None:
        nonlocal runs
        runs += 1
        em.persist(Author(f"try {runs}", f"try{runs}@x.io"))
        await em.flush()
        raise TransactionConflictError(f"simulated conflict {runs}", table="author")

    with pytest.raises(TransactionConflictError, match="simulated conflict 2") as info:
        await retry_transaction(orm.em, always_conflicts, attempts=2, backoff=0)
    assert runs == 2
    notes = getattr(info.value, "__notes__", [])
    assert len(notes) == 1 and "gave up after 2 attempts" in notes[0], notes
    assert "attempts=" in notes[0]
    assert await orm.em.fork().count(Author) == 0  # no attempt left anything

    runs = 0
    with pytest.raises(TransactionConflictError, match="gave up after 1 attempt:"):
        await retry_transaction(orm.em, always_conflicts, attempts=1)
    assert runs == 1


async def test_arguments_are_checked_before_any_io(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    runs = 0

    async def work(em: EntityManager) -> None:
        nonlocal runs
        runs += 1

    sql_log.clear()
    bad_attempts: list[Any] = [0, -1, True, 2.0, "3"]
    for attempts in bad_attempts:
        with pytest.raises(ValidationError, match="attempts must be an int of at least 1"):
            await retry_transaction(orm.em, work, attempts=attempts)
    not_callable: Any = "work"
    with pytest.raises(ValidationError, match="work must be an async function"):
        await retry_transaction(orm.em, not_callable)
    bad_backoffs: list[Any] = [-0.1, float("nan"), float("inf"), "0.1"]
    for backoff in bad_backoffs:
        with pytest.raises(ValidationError, match="backoff must be a finite number"):
            await retry_transaction(orm.em, work, backoff=backoff)
    assert sql_log.statements == []
    assert runs == 0

    em = orm.em.fork()
    async with em.transaction():
        with pytest.raises(ValidationError, match="inside a transaction"):
            await retry_transaction(em, work)
    assert runs == 0


async def test_an_isolation_level_the_database_lacks_is_refused_without_running_work(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(LIBRARY)
    missing = [lvl for lvl in IsolationLevel if lvl not in orm.driver.platform.isolation_levels]
    runs = 0

    async def work(em: EntityManager) -> None:
        nonlocal runs
        runs += 1

    for level in missing:
        with pytest.raises(ValidationError):
            await retry_transaction(orm.em, work, isolation_level=level)
    for level in orm.driver.platform.isolation_levels:
        await retry_transaction(orm.em, work, isolation_level=level)
    assert runs == len(orm.driver.platform.isolation_levels)


def test_the_pause_doubles_with_jitter_and_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.0)  # the smallest jitter, x0.5
    assert [pause_before_retry(0.02, n) for n in (1, 2, 3)] == pytest.approx([0.01, 0.02, 0.04])
    monkeypatch.setattr(random, "random", lambda: 0.99)  # close to the largest, x1.49
    assert pause_before_retry(0.02, 1) == pytest.approx(0.02 * 1.49)
    assert pause_before_retry(0.02, 30) == MAX_PAUSE == 1.0
    assert pause_before_retry(0.02, 100_000) == MAX_PAUSE  # no overflow
    assert pause_before_retry(0, 3) == 0


# -- real conflicts between two tasks ------------------------------------------------------


@pytest.mark.capability("isolation_levels", "concurrent_connections")
async def test_write_skew_under_serializable_is_retried_to_the_serial_outcome(
    make_orm: MakeOrm, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Both authors are on call (age 1); each task takes itself off call if the other still
    is. Run one after the other, exactly one goes off call; run concurrently, both read "two
    on call" first, so SERIALIZABLE must fail one of them, and its retry reads "one"."""
    orm = await make_orm(LIBRARY)
    if IsolationLevel.SERIALIZABLE not in orm.driver.platform.isolation_levels:
        pytest.skip(f"{orm.driver.platform.name} lacks IsolationLevel.SERIALIZABLE")
    await _two_authors(orm, age=1)
    caplog.set_level(logging.INFO, logger="orm.retry")
    read = [asyncio.Event(), asyncio.Event()]
    wrote = [asyncio.Event(), asyncio.Event()]
    runs = [0, 0]

    def go_off_call(index: int) -> Callable[[EntityManager], Awaitable[bool]]:
        async def work(em: EntityManager) -> bool:
            runs[index] += 1
            colliding = runs[index] == 1
            on_call = await em.count(Author, {"age": 1})
            if colliding:  # both have read before either writes
                read[index].set()
                await read[1 - index].wait()
            try:
                if on_call >= 2:
                    me = await em.find_one_or_fail(Author, {"email": EMAILS[index]})
                    me.age = 0
                    await em.flush()
            finally:
                if colliding:  # set even when this write was the deadlock victim
                    wrote[index].set()
            if colliding:  # both have written before either commits
                await wrote[1 - index].wait()
            return on_call >= 2

        return work

    serializable = IsolationLevel.SERIALIZABLE
    results = await asyncio.wait_for(
        asyncio.gather(
            retry_transaction(orm.em, go_off_call(0), attempts=5, isolation_level=serializable),
            retry_transaction(orm.em, go_off_call(1), attempts=5, isolation_level=serializable),
        ),
        60,
    )
    assert sorted(results) == [False, True], results  # exactly one went off call
    assert set((await _ages(orm)).values()) == {0, 1}  # one off call, one still on
    conflicts = _conflicts(caplog)
    assert sum(runs) >= 3 and conflicts, runs  # at least one attempt failed and was retried
    assert len(conflicts) == sum(runs) - 2
    if database == "postgres":
        # Both writes went through; the second COMMIT is where PostgreSQL refuses.
        assert any((c.sql or "").upper().startswith("COMMIT") for c in conflicts), conflicts


@pytest.mark.capability("lock_modes", "concurrent_connections")
async def test_a_deadlock_from_opposite_lock_order_is_retried_to_completion(
    make_orm: MakeOrm, caplog: pytest.LogCaptureFixture
) -> None:
    orm = await make_orm(LIBRARY)
    await _two_authors(orm, age=0)
    caplog.set_level(logging.INFO, logger="orm.retry")
    locked = [asyncio.Event(), asyncio.Event()]
    runs = [0, 0]

    def increment_both(index: int) -> Work:
        first, second = EMAILS if index == 0 else EMAILS[::-1]

        async def work(em: EntityManager) -> None:
            runs[index] += 1
            mine = await em.find_one_or_fail(
                Author, {"email": first}, lock_mode=LockMode.PESSIMISTIC_WRITE
            )
            if runs[index] == 1:  # both hold their first row before either asks for the other
                locked[index].set()
                await locked[1 - index].wait()
            theirs = await em.find_one_or_fail(
                Author, {"email": second}, lock_mode=LockMode.PESSIMISTIC_WRITE
            )
            mine.age = (mine.age or 0) + 1
            theirs.age = (theirs.age or 0) + 1

        return work

    await asyncio.wait_for(
        asyncio.gather(
            retry_transaction(orm.em, increment_both(0), attempts=5),
            retry_transaction(orm.em, increment_both(1), attempts=5),
        ),
        60,
    )
    assert await _ages(orm) == {EMAILS[0]: 2, EMAILS[1]: 2}  # both increments, once each
    conflicts = _conflicts(caplog)
    assert sum(runs) >= 3 and len(conflicts) == sum(runs) - 2, runs
    assert all(isinstance(c, DeadlockError) for c in conflicts), conflicts


@pytest.mark.capability("transactions", "concurrent_connections")
async def test_concurrent_read_modify_writes_of_one_row_are_retried_to_completion(
    make_orm: MakeOrm, caplog: pytest.LogCaptureFixture
) -> None:
    """Both tasks read the age, then write it plus one: without the conflict one increment
    would be lost. SERIALIZABLE where the database offers it (PostgreSQL refuses the second
    write, MariaDB deadlocks on the shared read locks); MongoDB's snapshot transactions refuse
    the second write as a write conflict."""
    orm = await make_orm(LIBRARY)
    await _two_authors(orm, age=0)
    caplog.set_level(logging.INFO, logger="orm.retry")
    level = _strongest_level(orm)
    read = [asyncio.Event(), asyncio.Event()]
    runs = [0, 0]

    def increment(index: int) -> Work:
        async def work(em: EntityManager) -> None:
            runs[index] += 1
            author = await em.find_one_or_fail(Author, {"email": EMAILS[0]})
            if runs[index] == 1:  # both have read the row before either writes it
                read[index].set()
                await read[1 - index].wait()
            author.age = (author.age or 0) + 1

        return work

    await asyncio.wait_for(
        asyncio.gather(
            retry_transaction(orm.em, increment(0), attempts=5, isolation_level=level),
            retry_transaction(orm.em, increment(1), attempts=5, isolation_level=level),
        ),
        60,
    )
    assert await _ages(orm) == {EMAILS[0]: 2, EMAILS[1]: 0}  # no increment was lost
    conflicts = _conflicts(caplog)
    assert sum(runs) >= 3 and len(conflicts) == sum(runs) - 2, runs
