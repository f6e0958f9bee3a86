"""orm quickstart on embedded SQLite: schema, a small graph, populate, update, delete.

Run it with:  uv run python examples/quickstart.py
Set ORM_URL to run the same script on another database (e.g. postgresql://...).
"""

from __future__ import annotations

import asyncio
import logging
import os
from decimal import Decimal

from orm.core import (
    ORM,
    Cascade,
    Collection,
    ManyToMany,
    ManyToOne,
    OneToMany,
    PrimaryKey,
    Property,
    entity,
)


@entity
class Author:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str = Property(unique=True)
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)

    def __init__(self, name: str, email: str) -> None:
        self.name = name
        self.email = email


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    price: Decimal = Property(precision=8, scale=2, default=Decimal("9.99"))
    author: Author = ManyToOne(Author)
    tags: Collection[Tag] = ManyToMany("Tag")


@entity
class Tag:
    id: int = PrimaryKey()
    name: str = Property(unique=True)


class StatementCounter(logging.Handler):
    """Counts what orm sends to the database (every statement goes to the 'orm.sql' logger)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def main() -> None:
    url = os.environ.get("ORM_URL", "sqlite://:memory:")
    orm = await ORM.init(url=url, entities=[Author, Book, Tag])
    counter = StatementCounter()
    sql_logger = logging.getLogger("orm.sql")
    sql_logger.setLevel(logging.DEBUG)
    sql_logger.addHandler(counter)

    await orm.schema.drop()
    await orm.schema.create()
    print(f"created the schema on {orm.driver.platform.name}")

    # 1. Persist a small graph: one flush, one INSERT per table, one transaction.
    em = orm.em.fork()
    fantasy, classic = Tag(name="fantasy"), Tag(name="classic")
    author = Author("Ursula K. Le Guin", "ursula@earthsea.org")
    for title in ("A Wizard of Earthsea", "The Tombs of Atuan", "The Farthest Shore"):
        book = Book(title=title, author=author)  # also adds the book to author.books
        book.tags.add(fantasy, classic)
    em.persist(author)
    counter.count = 0
    await em.flush()
    print(
        f"persisted 1 author, 3 books, 2 tags with {counter.count} statements "
        f"(BEGIN, 4 INSERTs, COMMIT); author id = {author.id}"
    )

    # 2. Query in a new unit of work, populating relations (one query per level).
    em = orm.em.fork()
    counter.count = 0
    authors = await em.find(
        Author, {"name": {"$like": "Ursula%"}}, populate=["books.tags"], order_by={"name": "asc"}
    )
    for found in authors:
        print(f"{found.name} <{found.email}>")
        for book in found.books:
            print(f"  - {book.title} ({book.price}) tags: {', '.join(t.name for t in book.tags)}")
    print(f"  ... loaded with {counter.count} queries")

    # 3. Update: only the changed columns, all rows of one shape in one UPDATE.
    for book in authors[0].books:
        book.price = Decimal("12.50")
    counter.count = 0
    await em.flush()
    print(f"repriced 3 books with {counter.count} statements (BEGIN, 1 UPDATE, COMMIT)")

    # 4. Delete: the cascade removes the books first, then the author.
    em.remove(authors[0])
    await em.flush()
    left = orm.em.fork()
    print(
        f"deleted the author; {await left.count(Author)} authors and "
        f"{await left.count(Book)} books remain, {await left.count(Tag)} tags kept"
    )

    await orm.schema.drop()
    await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
