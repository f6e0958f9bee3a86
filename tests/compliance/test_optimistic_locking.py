"""Optimistic locking (``Property(version=True)``) on every database.

Every UPDATE and DELETE of a versioned entity carries the version its fork loaded; a row that
changed since is not written, the flush raises OptimisticLockError naming the entity, its key
and both versions, nothing of that flush stays written and the fork keeps its changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from orm.core import ORM, EntityManager, PrimaryKey, Property, entity
from orm.core.errors import OptimisticLockError, TransactionConflictError, ValidationError
from orm.core.query.ast import LockMode
from tests.compliance.conftest import MakeOrm
from tests.conftest import StatementLog


@entity
class Counter:
    id: int = PrimaryKey()
    name: str = Property(length=50)
    value: int = Property(default=0)
    version: int = Property(version=True, init=False)


@entity
class Note:
    id: int = PrimaryKey()
    text: str = Property(length=50)


@entity
class Document:
    id: int = PrimaryKey()
    title: str = Property(length=50)
    changed_at: dt.datetime = Property(version=True, init=False)


ENTITIES = [Counter, Note, Document]


async def counters(orm: ORM, *names: str) -> None:
    em = orm.em.fork()
    em.persist([Counter(name=name) for name in names])
    await em.flush()


async def stored(orm: ORM, name: str) -> Counter:
    return await orm.em.fork().find_one_or_fail(Counter, {"name": name})


async def bump_elsewhere(orm: ORM, name: str) -> None:
    """Another fork writes the row first: the version in the database moves on."""
    em = orm.em.fork()
    counter = await em.find_one_or_fail(Counter, {"name": name})
    counter.value += 100
    await em.flush()


async def test_insert_starts_at_one_and_each_update_adds_one(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    counter = Counter(name="a")
    em.persist(counter)
    await em.flush()
    assert counter.version == 1
    counter.value = 5
    await em.flush()
    assert counter.version == 2
    assert (await stored(orm, "a")).version == 2


async def test_stale_update_raises_and_rolls_the_whole_flush_back(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await counters(orm, "a", "b")
    em = orm.em.fork()
    a = await em.find_one_or_fail(Counter, {"name": "a"})
    b = await em.find_one_or_fail(Counter, {"name": "b"})
    await bump_elsewhere(orm, "a")
    a.value = 1
    b.value = 2
    em.persist(Note(text="written with the counters"))
    with pytest.raises(OptimisticLockError) as caught:
        await em.flush()
    error = caught.value
    assert (error.entity, error.key, error.expected, error.current) == ("Counter", (a.id,), 1, 2)
    message = str(error)
    assert "Counter" in message and f"id={a.id}" in message
    assert "expected version 1" in message and "found 2" in message
    # Nothing of the flush was written: b unchanged, no note.
    assert (await stored(orm, "b")).value == 0
    assert (await stored(orm, "b")).version == 1
    assert (await stored(orm, "a")).value == 100
    assert await orm.em.fork().count(Note) == 0
    # The fork keeps its changes, and the entities their loaded versions.
    assert (a.value, a.version, b.value, b.version) == (1, 1, 2, 1)


async def test_a_batched_update_finds_the_stale_row(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    await counters(orm, "a", "b", "c")
    em = orm.em.fork()
    loaded = {c.name: c for c in await em.find(Counter)}
    await bump_elsewhere(orm, "b")
    for counter in loaded.values():
        counter.value = 7
    sql_log.clear()
    with pytest.raises(OptimisticLockError) as caught:
        await em.flush()
    assert caught.value.key == (loaded["b"].id,)
    assert sql_log.count("UPDATE") == 1  # one statement for the three rows
    assert sorted(c.value for c in await orm.em.fork().find(Counter)) == [0, 0, 100]


async def test_a_fresh_batched_update_is_one_statement(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    await counters(orm, "a", "b", "c")
    em = orm.em.fork()
    loaded = await em.find(Counter)
    for counter in loaded:
        counter.value = 3
    sql_log.clear()
    await em.flush()
    assert sql_log.write_operations() == ["UPDATE"]
    assert [c.version for c in loaded] == [2, 2, 2]
    assert {(c.value, c.version) for c in await orm.em.fork().find(Counter)} == {(3, 2)}


async def test_stale_delete_raises_and_deletes_nothing(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await counters(orm, "a", "b")
    em = orm.em.fork()
    a = await em.find_one_or_fail(Counter, {"name": "a"})
    b = await em.find_one_or_fail(Counter, {"name": "b"})
    await bump_elsewhere(orm, "a")
    em.remove([a, b])
    with pytest.raises(OptimisticLockError) as caught:
        await em.flush()
    assert (caught.value.key, caught.value.expected, caught.value.current) == ((a.id,), 1, 2)
    assert await orm.em.fork().count(Counter) == 2


async def test_update_of_a_deleted_row_says_it_is_gone(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await counters(orm, "a")
    em = orm.em.fork()
    a = await em.find_one_or_fail(Counter, {"name": "a"})
    other = orm.em.fork()
    other.remove(await other.find_one_or_fail(Counter, {"name": "a"}))
    await other.flush()
    a.value = 1
    with pytest.raises(OptimisticLockError, match="deleted") as caught:
        await em.flush()
    assert caught.value.current is None


async def test_retry_after_reloading_succeeds(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await counters(orm, "a")
    em = orm.em.fork()
    a = await em.find_one_or_fail(Counter, {"name": "a"})
    await bump_elsewhere(orm, "a")
    a.value += 1
    with pytest.raises(OptimisticLockError):
        await em.flush()
    fresh = orm.em.fork()
    again = await fresh.find_one_or_fail(Counter, {"name": "a"})
    again.value += 1
    await fresh.flush()
    assert ((await stored(orm, "a")).value, again.version) == (101, 3)


async def test_datetime_version(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    document = Document(title="draft")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    em.persist(document)
    await em.flush()
    first = document.changed_at
    assert first.tzinfo is not None and first >= before
    document.title = "final"
    await em.flush()
    assert document.changed_at > first
    # A fork that loaded the first version is stale now.
    stale_em = orm.em.fork()
    stale = await stale_em.find_one_or_fail(Document, {"title": "final"})
    other = orm.em.fork()
    (await other.find_one_or_fail(Document, {"title": "final"})).title = "other"
    await other.flush()
    stale.title = "mine"
    with pytest.raises(OptimisticLockError, match="Document"):
        await stale_em.flush()
    assert (await orm.em.fork().find_one_or_fail(Document, document.id)).title == "other"


async def test_lock_optimistic_checks_the_loaded_version(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await counters(orm, "a")
    em = orm.em.fork()
    a = await em.find_one_or_fail(Counter, {"name": "a"}, lock_mode=LockMode.OPTIMISTIC)
    await em.lock(a, LockMode.OPTIMISTIC, version=1)
    with pytest.raises(OptimisticLockError) as caught:
        await em.lock(a, LockMode.OPTIMISTIC, version=3)
    assert (caught.value.expected, caught.value.current) == (3, 1)
    note = Note(text="n")
    em.persist(note)
    await em.flush()
    with pytest.raises(ValidationError, match="no version property"):
        await em.lock(note, LockMode.OPTIMISTIC, version=1)
    with pytest.raises(ValidationError, match="no version property"):
        await em.find(Note, lock_mode=LockMode.OPTIMISTIC)


async def increment(orm: ORM, name: str) -> int:
    """Add one to the counter in a fork of its own, again from a fresh read on a conflict;
    returns how many attempts it took."""
    attempts = 0
    while True:
        attempts += 1
        em: EntityManager = orm.em.fork()
        counter = await em.find_one_or_fail(Counter, {"name": name})
        counter.value += 1
        await asyncio.sleep(0)  # let the other tasks read the same version
        try:
            await em.flush()
            return attempts
        except (OptimisticLockError, TransactionConflictError):
            # TransactionConflictError: MongoDB aborts a transaction writing the same document.
            continue


async def test_fifty_concurrent_increments_lose_nothing(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await counters(orm, "hits")
    attempts = await asyncio.gather(*(increment(orm, "hits") for _ in range(50)))
    counter = await stored(orm, "hits")
    assert (counter.value, counter.version) == (50, 51)
    assert sum(attempts) > 50  # the tasks did conflict, and retried
