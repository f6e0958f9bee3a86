"""A project using the orm-testing plugin, written into a pytester directory: its entities and
Config (``app.py``) and a test suite whose tests commit in every way the ORM offers."""

from __future__ import annotations

APP = """
from orm.core import ManyToOne, PrimaryKey, Property, entity
from orm.core.orm import Config


@entity
class Author:
    id: int = PrimaryKey()
    name: str = Property(length=50)


@entity
class Book:
    id: int = PrimaryKey()
    title: str = Property(length=50)
    author: Author = ManyToOne(Author)


def make_config() -> Config:
    return Config(url={url!r}, entities=[Author, Book])
"""

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
orm_config = app:make_config
orm_connection_wait = 2
"""

# Every test starts by checking that no row of an earlier test is left.
SUITE = '''
import asyncio

import pytest
from app import Author, Book, make_config

from orm.core import ORM
from orm.core.errors import PoolTimeoutError

SQL = {sql!r}


async def committed_count(entity):
    """What a connection outside the test's transaction sees: committed rows only."""
    other = await ORM.init(make_config())
    try:
        return await other.em.fork().count(entity)
    finally:
        await other.close()


@pytest.fixture
async def jon(em):
    author = Author(name="Jon")
    em.persist(author)
    await em.flush()
    return author


async def test_a_flush_is_seen_by_every_fork_of_the_test(orm, em):
    assert await em.count(Author) == 0
    em.persist(Author(name="Arya"))
    await em.flush()
    assert await orm.em.fork().count(Author) == 1
    if SQL:
        assert await committed_count(Author) == 0


async def test_does_not_see_the_rows_of_the_test_before(em):
    assert await em.count(Author) == 0


async def test_transaction_blocks_commit_and_roll_back(orm, em):
    assert await em.count(Author) == 0
    async with em.transaction():
        em.persist(Author(name="kept"))
    with pytest.raises(RuntimeError):
        async with em.transaction():
            em.persist(Author(name="undone"))
            await em.flush()
            raise RuntimeError("undo")
    names = [a.name for a in await orm.em.fork().find(Author)]
    assert names == ["kept"]


async def test_nested_blocks_are_savepoints(orm, em):
    if not SQL:
        return
    assert await em.count(Author) == 0
    async with em.transaction():
        em.persist(Author(name="outer"))
        await em.flush()
        with pytest.raises(RuntimeError):
            async with em.transaction():
                em.persist(Author(name="inner"))
                await em.flush()
                raise RuntimeError("undo the inner block")
        names = [a.name for a in await orm.em.fork().find(Author)]
        assert names == ["outer"]
        em.clear()  # the undone block's author is pending again: leave it out


async def test_fixture_rows_are_in_the_test_transaction(em, jon):
    assert [a.name for a in await em.find(Author)] == ["Jon"]


async def test_forks_in_gather_share_the_transaction(orm, em):
    assert await em.count(Author) == 0

    async def write(name):
        fork = orm.em.fork()
        async with fork.transaction():
            fork.persist(Author(name=name))

    await asyncio.gather(*(write(f"w{{i}}") for i in range(5)))
    assert await em.count(Author) == 5
    async with em.transaction():
        counts = await asyncio.gather(*(orm.em.fork().count(Author) for _ in range(3)))
    assert counts == [5, 5, 5]


async def test_stream_with_the_dataloader(orm, em, jon):
    assert await em.count(Book) == 0
    for index in range(5):
        em.persist(Book(title=f"b{{index}}", author=jon))
    await em.flush()
    fork = orm.em.fork()
    seen = []
    async for book in fork.stream(Book, order_by={{"title": "asc"}}, batch_size=2):
        author = await fork.load(book.author)
        seen.append((book.title, author.name))
        fork.persist(Author(name=book.title))
        await fork.flush()
    assert seen == [(f"b{{i}}", "Jon") for i in range(5)]
    assert await em.count(Author) == 6


async def test_a_wait_for_the_connection_that_cannot_end_is_an_error(orm, em):
    if not SQL:
        return
    holder, waiter = orm.em.fork(), orm.em.fork()
    started = asyncio.Event()

    async def read_when_started():
        await started.wait()
        return await waiter.count(Author)

    reader = asyncio.create_task(read_when_started())
    with pytest.raises(PoolTimeoutError, match="deadlock"):
        async with holder.transaction():
            holder.persist(Author(name="held"))
            await holder.flush()
            started.set()
            await reader


@pytest.mark.orm_commit
async def test_the_marker_commits_for_real(em, jon):
    em.persist(Book(title="committed", author=jon))
    await em.flush()
    assert await committed_count(Author) == 1
    assert await committed_count(Book) == 1


async def test_after_the_marked_test_the_tables_are_empty(em):
    assert await em.count(Author) == 0
    assert await em.count(Book) == 0
'''

# Run after the suite, in a process of its own: prints how many rows each table holds.
ROWS_LEFT = """
import asyncio

from app import Author, Book, make_config

from orm.core import ORM


async def main():
    orm = await ORM.init(make_config())
    try:
        em = orm.em.fork()
        print("rows left:", await em.count(Author), await em.count(Book))
    finally:
        await orm.close()


asyncio.run(main())
"""

# Tests in the suite above.
SUITE_TESTS = 10
