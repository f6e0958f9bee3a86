"""N+1-proof loads on every database: references loaded with ``em.load``, ``em.populate`` calls
and nested populates started in the same tick share one query per relation and level."""

from __future__ import annotations

import asyncio

import pytest

from orm.core import ORM, EntityStateError, NotFoundError

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author, Book, Tag


async def library(orm: ORM) -> None:
    em = orm.em.fork()
    tags = [Tag(name=f"t{i}") for i in range(3)]
    for index in range(5):
        author = Author(f"Author {index}", f"a{index}@x.io")
        for number in range(2):
            book = Book(title=f"B{index}.{number}", author=author)
            book.tags.set(tags[: number + 1])
            author.books.add(book)
        em.persist(author)
    await em.flush()


async def test_gathered_loads_of_references_are_one_query(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await library(orm)
    em = orm.em.fork()
    books = await em.find(Book, order_by={"title": "asc"})
    sql_log.clear()
    authors = await asyncio.gather(*(em.load(book.author) for book in books))
    assert sql_log.count("SELECT") == 1 and sql_log.targets_of("SELECT") == ["author"]
    assert [a.name for a in authors] == [b.author.name for b in books]
    sql_log.clear()
    await em.load(books[0].author)  # already loaded: no query
    assert sql_log.count("SELECT") == 0


async def test_gathered_populates_of_a_to_one_are_one_query(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await library(orm)
    em = orm.em.fork()
    books = await em.find(Book)
    sql_log.clear()
    await asyncio.gather(*(em.populate(book, ["author"]) for book in books))
    assert sql_log.targets_of("SELECT") == ["author"]
    assert all(book.author.name.startswith("Author") for book in books)


async def test_gathered_nested_populates_are_one_query_per_level(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await library(orm)
    em = orm.em.fork()
    authors = await em.find(Author)
    sql_log.clear()
    await asyncio.gather(*(em.populate(author, ["books.tags"]) for author in authors))
    assert sql_log.count("SELECT") == 2  # the books, then their tags
    assert sorted(len(a.books) for a in authors) == [2] * 5
    assert all(len(book.tags) >= 1 for a in authors for book in a.books)


async def test_load_refuses_entities_of_another_fork_and_reports_missing_rows(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(LIBRARY)
    await library(orm)
    book = (await orm.em.fork().find(Book))[0]
    with pytest.raises(EntityStateError, match="not managed by this EntityManager"):
        await orm.em.fork().load(book.author)
    em = orm.em.fork()
    ghost = em.get_reference(Author, 987654)
    with pytest.raises(NotFoundError, match=r"Author .*987654.* no longer exists"):
        await em.load(ghost)
