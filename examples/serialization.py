"""Serialization: to_dict / to_json with hidden properties, serialized_name and serializers,
and em.serialize's shape hints loading what is missing with one query per level.

Run it with:  uv run python examples/serialization.py
Set ORM_URL to run it on another database, e.g.
    ORM_URL=postgresql://postgres@127.0.0.1:5432/orm_test uv run python examples/serialization.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from decimal import Decimal

from orm.core import (
    ORM,
    Cascade,
    Collection,
    EntityManager,
    ManyToMany,
    ManyToOne,
    OneToMany,
    PrimaryKey,
    Property,
    entity,
    to_dict,
    to_json,
)


@entity
class Author:
    id: int = PrimaryKey()
    name: str = Property(length=100, serialized_name="fullName")
    password_hash: str = Property(length=100, hidden=True)  # never serialized
    email: str = Property(length=100, serializer=str.lower)
    born: dt.date | None = None
    books: Collection[Book] = OneToMany(
        "Book", mapped_by="author", cascade=Cascade.ALL, order_by={"title": "asc"}
    )


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    price: Decimal | None = Property(precision=10, scale=2, default=None)
    author: Author = ManyToOne(Author)
    tags: Collection[Tag] = ManyToMany("Tag", inversed_by="books", order_by={"name": "asc"})


@entity
class Tag:
    id: int = PrimaryKey()
    name: str
    books: Collection[Book] = ManyToMany(Book, mapped_by="tags", hidden=True)


class StatementCounter(logging.Handler):
    """Counts what the driver sends (the ``orm.sql`` logger has one record per statement)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def seed(em: EntityManager) -> None:
    fantasy, classic = Tag(name="fantasy"), Tag(name="classic")
    for name, titles in [("Ursula", ["Earthsea", "The Lathe of Heaven"]), ("Iain", ["Excession"])]:
        author = Author(name=name, password_hash="x", email=f"{name.upper()}@EXAMPLE.ORG")
        author.born = dt.date(1929, 10, 21) if name == "Ursula" else dt.date(1954, 2, 16)
        for title in titles:
            book = Book(title=title, price=Decimal("9.90"), author=author)
            book.tags.add(fantasy if title == "Earthsea" else classic)
        em.persist(author)
    await em.flush()


async def main() -> None:
    orm = await ORM.init(
        url=os.environ.get("ORM_URL", "sqlite://:memory:"), entities=[Author, Book, Tag]
    )
    await orm.schema.refresh()
    await seed(orm.em.fork())
    counter = StatementCounter()
    logger = logging.getLogger("orm.sql")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)

    em = orm.em.fork()
    books = await em.find(Book, order_by={"title": "asc"})
    # Scalars, renamed and mapped; the unloaded author is its key; no query is sent.
    print("to_dict:", to_dict(books[0]))
    print("to_json:", to_json(books[0]))

    # A shape hint: the missing relations are loaded first, one query per level.
    authors = await em.find(Author, order_by={"name": "asc"})
    counter.count = 0
    shaped = await em.serialize(authors, {"books": {"tags": True}}, exclude=["books.price"])
    print(f"em.serialize: {counter.count} queries for {len(authors)} authors")
    for author in shaped:
        titles = [(b["title"], [t["name"] for t in b["tags"]]) for b in author["books"]]
        print(f"  {author['fullName']} <{author['email']}>: {titles}")

    # Loaded now: the same shape again reads nothing; the author inside each book is its
    # key, since it is being serialized further up (cycles are cut).
    counter.count = 0
    again = to_json(authors, populate=["books.author"], exclude=["books.price"], indent=2)
    print(f"to_json with populate ({counter.count} queries):\n{again}")

    await orm.schema.drop()
    await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
