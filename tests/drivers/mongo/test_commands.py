"""What the MongoDB driver sends: one command per collection and kind of change."""

from __future__ import annotations

import asyncio

from orm.core import Collection, ManyToMany, ManyToOne, OneToMany, PrimaryKey, entity
from tests.conftest import StatementLog

from .conftest import MakeMongoOrm


@entity(table="cmd_author")
class Author:
    id: int = PrimaryKey()
    name: str
    books: Collection[Book] = OneToMany("Book", mapped_by="author")


@entity(table="cmd_tag")
class Tag:
    id: str = PrimaryKey()
    name: str


@entity(table="cmd_book")
class Book:
    id: int = PrimaryKey()
    title: str
    author: Author = ManyToOne(Author)
    tags: Collection[Tag] = ManyToMany(Tag)


ENTITIES = [Author, Book, Tag]


def graph(authors: int = 2, books: int = 3) -> list[Author]:
    made = []
    for a in range(authors):
        author = Author(name=f"author {a}")
        for b in range(books):
            book = Book(title=f"book {a}.{b}", author=author)
            book.tags.add(Tag(name=f"tag {a}.{b}"))
            author.books.add(book)
        made.append(author)
    return made


async def test_a_new_graph_is_one_insert_many_per_collection(
    make_mongo_orm: MakeMongoOrm, sql_log: StatementLog
) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    em.persist(graph())
    sql_log.clear()
    await em.flush()
    inserts = sql_log.of_kind("INSERT")
    assert [text.split()[:2] for text in inserts] == [
        ["insert_many", "cmd_author"],
        ["insert_many", "cmd_tag"],
        ["insert_many", "cmd_book"],
    ]
    # The books' tag links travel in the books' documents: no update after the inserts.
    assert sql_log.count("UPDATE") == 0
    assert sql_log.count("BEGIN") == 1 and sql_log.count("COMMIT") == 1
    fresh = orm.em.fork()
    books = await fresh.find(Book, {}, populate=["tags"], order_by={"title": "asc"})
    assert [[tag.name for tag in book.tags] for book in books][:2] == [["tag 0.0"], ["tag 0.1"]]


async def test_an_update_of_n_entities_is_one_bulk_write(
    make_mongo_orm: MakeMongoOrm, sql_log: StatementLog
) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    em.persist(graph(authors=4, books=5))
    await em.flush()
    reader = orm.em.fork()
    books = await reader.find(Book, {})
    assert len(books) == 20
    for book in books:
        book.title = book.title.upper()
    sql_log.clear()
    await reader.flush()
    writes = sql_log.writes()
    assert len(writes) == 1
    assert writes[0].startswith("bulk_write cmd_book [20 x UpdateOne]")
    titles = {book.title for book in await orm.em.fork().find(Book, {})}
    assert titles == {f"BOOK {a}.{b}" for a in range(4) for b in range(5)}


async def test_gather_over_n_collection_loads_is_one_query(
    make_mongo_orm: MakeMongoOrm, sql_log: StatementLog
) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    em.persist(graph(authors=5, books=2))
    await em.flush()
    reader = orm.em.fork()
    authors = await reader.find(Author, {})
    sql_log.clear()
    await asyncio.gather(*(author.books.load() for author in authors))
    assert sql_log.count("SELECT") == 1
    assert [len(author.books) for author in authors] == [2] * 5
    books = await reader.find(Book, {})
    sql_log.clear()
    await asyncio.gather(*(book.tags.load() for book in books))
    assert sql_log.count("SELECT") == 1
    assert all(len(book.tags) == 1 for book in books)
