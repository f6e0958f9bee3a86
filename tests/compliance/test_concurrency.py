"""Many forks on one pool at once: no crosstalk, pool exhaustion, dropped connections.

Waiting is proven by state (a task that has not finished while the pool is held), never by
measuring time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orm.core import ORM, PoolTimeoutError

from .conftest import MakeOrm
from .models import LIBRARY, Author, Book

FORKS = 20


async def test_twenty_forks_flush_at_once_without_crosstalk(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    forks = [orm.em.fork() for _ in range(FORKS)]
    authors: list[Author] = []
    for index, em in enumerate(forks):
        author = Author(f"author {index}", f"a{index}@x.io", age=index)
        author.books.add(Book(title=f"first of {index}"), Book(title=f"second of {index}"))
        em.persist(author)
        authors.append(author)

    await asyncio.gather(*(em.flush() for em in forks))

    ids = [a.id for a in authors]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == FORKS
    book_ids = [b.id for a in authors for b in a.books]
    assert len(set(book_ids)) == 2 * FORKS

    async def check(index: int, em: Any) -> None:
        mine = authors[index]
        # The identity map of each fork holds its own objects and nobody else's.
        assert await em.find_one(Author, {"email": f"a{index}@x.io"}) is mine
        other_index = (index + 1) % FORKS
        other = await em.find_one_or_fail(Author, {"email": f"a{other_index}@x.io"})
        assert other is not authors[other_index]
        assert other.id == authors[other_index].id
        mine.name = f"renamed {index}"

    await asyncio.gather(*(check(i, em) for i, em in enumerate(forks)))
    await asyncio.gather(*(em.flush() for em in forks))

    # The generated keys belong to the rows that were written (no mixed-up ids).
    fresh = orm.em.fork()
    for index, author in enumerate(authors):
        loaded = await fresh.find_one_or_fail(Author, author.id, populate=["books"])
        assert loaded.name == f"renamed {index}" and loaded.age == index
        assert sorted(b.title for b in loaded.books) == [f"first of {index}", f"second of {index}"]
        assert sorted(b.id for b in loaded.books) == sorted(b.id for b in author.books)
    assert await fresh.count(Author) == FORKS
    assert await fresh.count(Book) == 2 * FORKS


async def test_an_exhausted_pool_makes_the_next_request_wait(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY, pool_max_size=1, acquire_timeout=30)
    release = asyncio.Event()
    holding = asyncio.Event()

    async def holder() -> None:
        em = orm.em.fork()
        async with em.transaction():  # checks out the only connection until release
            em.persist(Author("Holder", "holder@x.io"))
            await em.flush()
            holding.set()
            await release.wait()

    async def waiter() -> int:
        await holding.wait()
        return await orm.em.fork().count(Author)

    held = asyncio.create_task(holder())
    waiting = asyncio.create_task(waiter())
    await holding.wait()
    await asyncio.sleep(0.1)  # lets the waiter reach the pool (not a timing assertion)
    assert not waiting.done(), "the second request did not wait for the busy pool"
    release.set()
    await held
    # It got the connection once the holder committed, so it sees the holder's row.
    assert await asyncio.wait_for(waiting, 30) == 1


async def test_an_exhausted_pool_times_out_with_a_clear_error(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY, pool_max_size=1, acquire_timeout=0.2)
    holder = orm.em.fork()
    async with holder.transaction():
        await holder.find(Author)
        with pytest.raises(PoolTimeoutError) as caught:
            await orm.em.fork().find(Author)
        message = str(caught.value)
        assert "acquire_timeout" in message or "pool_max_size" in message, message
    # The pool works again once the connection is back.
    assert await orm.em.fork().count(Author) == 0


# How to learn a connection's server-side id and end it from another connection.
_KILL = {
    "mariadb": ("SELECT CONNECTION_ID() AS id", "KILL :id"),
    "mysql": ("SELECT CONNECTION_ID() AS id", "KILL :id"),
    "postgres": ("SELECT pg_backend_pid() AS id", "SELECT pg_terminate_backend(:id)"),
    "postgresql": ("SELECT pg_backend_pid() AS id", "SELECT pg_terminate_backend(:id)"),
}


async def _kill_one_pooled_connection(orm: ORM) -> Any:
    name = orm.driver.platform.name
    if name not in _KILL:
        pytest.fail(f"test_concurrency._KILL does not say how to end a connection on {name}")
    identify, kill = _KILL[name]
    async with orm.driver.acquire() as victim:
        victim_id = (await victim.execute(identify)).rows[0]["id"]
        async with orm.driver.acquire() as killer:
            await killer.execute(kill, {"id": victim_id})
    return victim_id


# The connection is ended with SQL (pg_terminate_backend, KILL).
@pytest.mark.capability("concurrent_connections", "sql")
async def test_a_connection_dropped_by_the_server_is_replaced(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY, pool_max_size=2)
    em = orm.em.fork()
    em.persist(Author("Before", "before@x.io"))
    await em.flush()
    killed = await _kill_one_pooled_connection(orm)

    # Use every pooled connection a few times: reads, a flush, a transaction.
    for index in range(4):
        assert await orm.em.fork().count(Author) == 1 + index
        writer = orm.em.fork()
        async with writer.transaction():
            writer.persist(Author(f"After {index}", f"after{index}@x.io"))
    identify = _KILL[orm.driver.platform.name][0]
    for _ in range(2):
        async with orm.driver.acquire() as connection:
            assert (await connection.execute(identify)).rows[0]["id"] != killed
    assert await orm.em.fork().count(Author) == 5
