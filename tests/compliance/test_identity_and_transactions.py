"""The identity map rules, transactions and savepoints, raw SQL."""

from __future__ import annotations

import pytest

from orm.core import (
    DriverError,
    EntityManager,
    EntityStateError,
    NotFoundError,
    UniqueConstraintViolation,
)

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author, Book


async def _author(em: EntityManager, name: str = "Ann", email: str = "ann@x.io") -> Author:
    author = Author(name, email)
    em.persist(author)
    await em.flush()
    return author


async def test_one_object_per_row_per_fork(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    await _author(orm.em.fork())
    em = orm.em.fork()
    first = await em.find_one_or_fail(Author, {"email": "ann@x.io"})
    second = (await em.find(Author))[0]
    assert first is second
    sql_log.clear()
    assert em.get_reference(Author, first.id) is first
    assert await em.find_one(Author, first.id) is first
    assert sql_log.statements == []
    other = orm.em.fork()
    assert await other.find_one(Author, first.id) is not first


async def test_loading_never_overwrites_unflushed_changes(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _author(orm.em.fork())
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, {"email": "ann@x.io"})
    author.name = "Changed in memory"
    # Someone else changes the row meanwhile.
    writer = orm.em.fork()
    (await writer.find_one_or_fail(Author, author.id)).age = 99
    await writer.flush()
    again = await em.find_one_or_fail(Author, {"email": "ann@x.io"})
    assert again is author
    assert author.name == "Changed in memory"
    assert author.age is None  # the loaded entity is not overwritten either
    await em.refresh(author)
    assert author.name == "Ann" and author.age == 99


async def test_reference_becomes_loaded_and_keeps_assigned_values(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    created = await _author(orm.em.fork())
    em = orm.em.fork()
    reference = em.get_reference(Author, created.id)
    reference.age = 7  # update without loading
    loaded = await em.find_one_or_fail(Author, {"email": "ann@x.io"})
    assert loaded is reference
    assert loaded.name == "Ann" and loaded.age == 7
    await em.flush()
    assert (await orm.em.fork().find_one_or_fail(Author, created.id)).age == 7


async def test_update_through_an_unloaded_reference(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    created = await _author(orm.em.fork())
    em = orm.em.fork()
    reference = em.get_reference(Author, created.id)
    reference.name = "Renamed"
    sql_log.clear()
    await em.flush()
    assert sql_log.count("SELECT") == 0
    assert len(sql_log.writes()) == 1
    assert (await orm.em.fork().find_one_or_fail(Author, created.id)).name == "Renamed"


async def test_clear_detaches_everything(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _author(orm.em.fork())
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, {"email": "ann@x.io"})
    em.clear()
    assert author not in em
    assert await em.find_one_or_fail(Author, {"email": "ann@x.io"}) is not author


async def test_find_one_or_fail_and_refresh_of_a_deleted_row(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    created = await _author(orm.em.fork())
    em = orm.em.fork()
    with pytest.raises(NotFoundError, match="Author not found"):
        await em.find_one_or_fail(Author, {"email": "nobody@x.io"})
    author = await em.find_one_or_fail(Author, created.id)
    other = orm.em.fork()
    other.remove(await other.find_one_or_fail(Author, created.id))
    await other.flush()
    with pytest.raises(NotFoundError, match="no longer exists"):
        await em.refresh(author)


async def test_transaction_commits_and_flushes(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    async with em.transaction():
        em.persist(Author("In tx", "tx@x.io"))
    assert await orm.em.fork().count(Author) == 1


async def test_transaction_rolls_back_on_error(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    with pytest.raises(RuntimeError):
        async with em.transaction():
            em.persist(Author("Doomed", "doomed@x.io"))
            await em.flush()
            raise RuntimeError("boom")
    assert await orm.em.fork().count(Author) == 0


@pytest.mark.capability("savepoints")
async def test_nested_transaction_is_a_savepoint(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    async with em.transaction():
        em.persist(Author("Outer", "outer@x.io"))
        await em.flush()
        inner = Author("Inner", "inner@x.io")
        with pytest.raises(RuntimeError):
            async with em.transaction():
                em.persist(inner)
                await em.flush()
                raise RuntimeError("inner fails")
        # The savepoint is gone from the database; the insert is pending again in the fork,
        # and dropping it is an explicit decision (a NEW entity removed is simply forgotten).
        assert sorted(a.name for a in await em.find(Author)) == ["Outer"]
        assert inner.id is None
        em.remove(inner)
        em.persist(Author("After", "after@x.io"))
    names = sorted(a.name for a in await orm.em.fork().find(Author))
    assert names == ["After", "Outer"]


async def test_failed_flush_inside_a_transaction_keeps_the_transaction_usable(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(LIBRARY)
    await _author(orm.em.fork(), "Taken", "taken@x.io")
    em = orm.em.fork()
    if not orm.driver.platform.savepoints:
        # Nothing can undo the failed flush alone: the whole transaction rolls back, clearly.
        with pytest.raises(DriverError, match="no savepoints to undo that flush alone"):
            async with em.transaction():
                em.persist(Author("Kept", "kept@x.io"))
                await em.flush()
                duplicate = Author("Dup", "taken@x.io")
                em.persist(duplicate)
                with pytest.raises(UniqueConstraintViolation):
                    await em.flush()
                duplicate.email = "free@x.io"
        assert await orm.em.fork().count(Author) == 1
        await em.flush()  # the changes were kept pending: they are written now
        assert await orm.em.fork().count(Author) == 3
        return
    async with em.transaction():
        duplicate = Author("Dup", "taken@x.io")
        em.persist(duplicate)
        with pytest.raises(UniqueConstraintViolation):
            await em.flush()
        duplicate.email = "free@x.io"
    assert await orm.em.fork().count(Author) == 2


async def test_transactional_runs_a_function(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)

    async def work(em: EntityManager) -> int:
        author = Author("Fn", "fn@x.io")
        author.books.add(Book(title="Inside"))
        em.persist(author)
        return 42

    assert await orm.em.fork().transactional(work) == 42
    assert await orm.em.fork().count(Book) == 1


@pytest.mark.capability("sql")
async def test_raw_sql_execute(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _author(orm.em.fork())
    em = orm.em.fork()
    result = await em.execute(
        "SELECT name, email FROM author WHERE email = :email", {"email": "ann@x.io"}
    )
    assert result.rows == [{"name": "Ann", "email": "ann@x.io"}]
    changed = await em.execute("UPDATE author SET age = :age", {"age": 5})
    assert changed.rowcount == 1


async def test_global_entity_manager_refuses_work(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    with pytest.raises(EntityStateError, match=r"orm\.em\.fork\(\)"):
        await orm.em.find(Author)
    with pytest.raises(EntityStateError):
        orm.em.persist(Author("x", "y"))


async def test_entities_cannot_cross_forks(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _author(orm.em.fork())
    first, second = orm.em.fork(), orm.em.fork()
    author = await first.find_one_or_fail(Author, {"email": "ann@x.io"})
    with pytest.raises(EntityStateError, match="another EntityManager fork"):
        second.remove(author)
    book = Book(title="Cross", author=author)
    second.persist(book)
    with pytest.raises(EntityStateError, match="another EntityManager fork"):
        await second.flush()


async def test_request_context_provides_one_fork_per_task(make_orm: MakeOrm) -> None:
    import asyncio

    orm = await make_orm(LIBRARY)
    with pytest.raises(EntityStateError, match="request_context"):
        orm.current_em()

    async def handler(name: str) -> EntityManager:
        async with orm.request_context() as em:
            assert orm.current_em() is em
            em.persist(Author(name, f"{name}@x.io"))
            await orm.current_em().flush()
            return em

    first, second = await asyncio.gather(handler("one"), handler("two"))
    assert first is not second
    assert await orm.em.fork().count(Author) == 2


async def test_concurrent_flushes_of_one_fork_do_not_insert_twice(make_orm: MakeOrm) -> None:
    import asyncio

    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    em.persist(Author("Once", "once@x.io"))
    await asyncio.gather(em.flush(), em.flush())
    assert await orm.em.fork().count(Author) == 1


async def test_rolled_back_transaction_puts_the_fork_back_with_changes_pending(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    keeper = Author("Keeper", "keeper@x.io")
    em.persist(keeper)
    await em.flush()

    new = Author("New", "new@x.io")
    new.books.add(Book(title="Draft"))
    with pytest.raises(RuntimeError):
        async with em.transaction():
            em.persist(new)
            keeper.name = "Renamed"
            await em.flush()
            em.remove(keeper)
            await em.flush()
            raise RuntimeError("abort")
    # The database is as before the transaction; the fork is as before its flushes: the
    # insert, the rename and the removal are all pending again.
    assert [a.name for a in await orm.em.fork().find(Author)] == ["Keeper"]
    assert new.id is None and new not in em
    assert keeper in em and keeper.name == "Renamed"
    await em.flush()  # writes the whole graph, and the removal
    check = orm.em.fork()
    assert [a.name for a in await check.find(Author)] == ["New"]
    assert await check.count(Book) == 1
