"""The README's first example as a script: it runs, and it type-checks under mypy and pyright
in strict mode (CI checks both), including the relations left to the collection to set.

Run it with:  uv run python examples/readme.py
"""

from __future__ import annotations

import asyncio

from orm.core import ORM, Cascade, Collection, ManyToOne, OneToMany, PrimaryKey, Property, entity


@entity
class Author:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str = Property(unique=True)
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)


@entity
class Publisher:
    id: int = PrimaryKey()
    name: str


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    author: Author = ManyToOne(Author)
    publisher: Publisher | None = ManyToOne(Publisher, nullable=True)


async def main() -> None:
    orm = await ORM.init(url="sqlite://:memory:", entities=[Author, Publisher, Book])
    await orm.schema.create()
    em = orm.em.fork()  # one per request
    author = Author(name="Jon Snow", email="jon@wall.st")
    author.books.add(Book(title="My Life on the Wall"))  # the collection sets book.author
    em.persist(author)
    await em.flush()  # BEGIN; INSERT author; INSERT book; COMMIT
    authors = await em.find(Author, {"name": {"$like": "J%"}}, populate=["books"])
    for found in authors:
        titles = ", ".join(book.title for book in found.books)
        publisher = found.books[0].publisher
        print(f"{found.name}: {titles} (publisher: {publisher.name if publisher else 'none'})")
    await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
