"""Loading strategies: the same populate with select-in, joined and (on PostgreSQL)
json-aggregate, with the statements each sends; populate_where and populate_order_by.

Run it with:  uv run python examples/loading_strategies.py
Set ORM_URL to run it on another database, e.g. (json-aggregate runs on PostgreSQL only)
    ORM_URL=postgresql://postgres@127.0.0.1:5432/orm_test \
        uv run python examples/loading_strategies.py
"""

from __future__ import annotations

import asyncio
import logging
import os

from orm.core import (
    ORM,
    Cascade,
    Collection,
    EntityManager,
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
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    published: bool = True
    author: Author = ManyToOne(Author)
    reviews: Collection[Review] = OneToMany("Review", mapped_by="book", cascade=Cascade.ALL)


@entity
class Review:
    id: int = PrimaryKey()
    stars: int
    book: Book = ManyToOne(Book)


class StatementCounter(logging.Handler):
    """Counts what the driver sends (the ``orm.sql`` logger has one record per statement)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def seed(em: EntityManager) -> None:
    for name, titles in [("Ursula", ["Earthsea", "The Dispossessed"]), ("Iain", ["Excession"])]:
        author = Author(name=name)
        for index, title in enumerate(titles):
            book = Book(title=title, published=index == 0, author=author)
            for stars in (5, 3, 4):
                Review(stars=stars, book=book)  # joins book.reviews through the ManyToOne
        em.persist(author)
    await em.flush()


def describe(authors: list[Author]) -> list[str]:
    return [
        f"{a.name}: " + "; ".join(f"{b.title} {[r.stars for r in b.reviews]}" for b in a.books)
        for a in authors
    ]


async def main() -> None:
    orm = await ORM.init(
        url=os.environ.get("ORM_URL", "sqlite://:memory:"), entities=[Author, Book, Review]
    )
    await orm.schema.refresh()
    await seed(orm.em.fork())
    counter = StatementCounter()
    logger = logging.getLogger("orm.sql")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)

    strategies = ["select-in", "joined"]
    if orm.driver.platform.json_aggregate_loading:
        strategies.append("json-aggregate")
    for strategy in strategies:
        counter.count = 0
        em = orm.em.fork()  # a fresh identity map, so every strategy really loads
        authors = await em.find(
            Author, populate=["books.reviews"], order_by={"name": "asc"}, strategy=strategy
        )
        print(f"{strategy:>14}: {counter.count} statement(s)")
        for line in describe(authors):
            print(f"{'':>16}{line}")

    # Only the published books, each with its reviews best first.
    em = orm.em.fork()
    authors = await em.find(
        Author,
        populate=["books.reviews"],
        populate_where={"books": {"published": True}},
        populate_order_by={"books.reviews": {"stars": "desc"}},
        order_by={"name": "asc"},
        strategy="joined",
    )
    print("published only:", describe(authors))
    ursula = authors[1]
    print("is_filtered:", ursula.books.is_filtered)
    await ursula.books.load()  # reads the whole collection again
    print("after load():", [b.title for b in ursula.books])

    await orm.schema.drop()
    await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
