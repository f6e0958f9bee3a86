"""orm on MongoDB: collections, a small graph, a filter across relations, populate, update,
remove, and an aggregation pipeline.

Needs a MongoDB server (a replica set for transactions; on a standalone server each command
is atomic on its own) and `pip install orm-core orm-mongo`. Run it with:

    ORM_MONGO_URL=mongodb://127.0.0.1:27017/orm_quickstart python examples/quickstart_mongo.py

The URL alone selects the driver: this script imports nothing but ``orm.core``. It creates its
own collections (prefixed ``qs_``) and drops them at the end. Every command the driver sends
goes to the ``orm.sql`` logger, as SQL statements do; the script counts them by ``operation``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
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

DEFAULT_URL = "mongodb://127.0.0.1:27017/orm_quickstart"


@entity(table="qs_author")
class Author:
    id: str = PrimaryKey()  # a new ObjectId, seen in Python as its 24 hex digits
    name: str = Property(length=100)
    email: str = Property(unique=True)  # a unique index
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)


@entity(table="qs_book")
class Book:
    id: int = PrimaryKey()  # numbered 1, 2, 3... from the orm_sequences counter
    title: str
    price: Decimal = Property(precision=8, scale=2, default=Decimal("9.99"))  # Decimal128
    author: Author = ManyToOne(Author)  # field author_id: the author's ObjectId
    tags: Collection[Tag] = ManyToMany("Tag")  # field tags: an array of the tags' keys


@entity(table="qs_tag")
class Tag:
    id: str = PrimaryKey()
    name: str = Property(unique=True)


class CommandCounter(logging.Handler):
    """Counts the commands orm sends by their portable ``operation`` (SELECT, INSERT, ...)."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: Counter[str] = Counter()
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        operation: str = getattr(record, "operation", "")
        text: str = getattr(record, "sql", "")
        self.operations[operation] += 1
        self.texts.append(text)

    def take(self) -> str:
        """What was sent since the last call, e.g. ``BEGIN 1, INSERT 3, COMMIT 1``."""
        counted = ", ".join(f"{name} {count}" for name, count in self.operations.items())
        self.operations.clear()
        self.texts.clear()
        return counted


async def main() -> None:
    url = os.environ.get("ORM_MONGO_URL", DEFAULT_URL)
    orm = await ORM.init(url=url, entities=[Author, Book, Tag], connect_timeout=5)
    counter = CommandCounter()
    command_log = logging.getLogger("orm.sql")
    command_log.setLevel(logging.DEBUG)
    command_log.addHandler(counter)
    try:
        await orm.schema.drop()
        await orm.schema.create()  # collections, unique indexes, the author_id and tags indexes
        platform = orm.driver.platform
        print(f"created the collections on {platform.name} (transactions: {platform.transactions})")
        counter.take()
        await tour(orm, counter)
    finally:
        await orm.schema.drop()
        command_log.removeHandler(counter)
        await orm.close()
        print("dropped the example's collections")


async def tour(orm: ORM, counter: CommandCounter) -> None:
    # 1. Persist a graph: one insert_many per collection, in one transaction. The books' tag
    #    links travel inside the books' documents.
    em = orm.em.fork()
    fantasy, classic, poetry = Tag(name="fantasy"), Tag(name="classic"), Tag(name="poetry")
    ursula = Author(name="Ursula K. Le Guin", email="ursula@earthsea.example")
    for title in ("A Wizard of Earthsea", "The Tombs of Atuan", "The Farthest Shore"):
        book = Book(title=title, author=ursula)  # also adds the book to ursula.books
        book.tags.add(fantasy, classic)
    mary = Author(name="Mary Oliver", email="mary@oliver.example")
    Book(title="Devotions", author=mary).tags.add(poetry)
    em.persist([ursula, mary])
    await em.flush()
    book_ids = sorted(book.id for book in ursula.books)
    print(f"persisted 2 authors, 4 books, 3 tags with: {counter.take()}")
    print(f"  author key {ursula.id!r} (an ObjectId), book keys {book_ids}")

    # 2. A filter across relations: one aggregate command, each condition a $lookup.
    em = orm.em.fork()
    books = await em.find(
        Book,
        {"author": {"name": {"$like": "Ursula%"}}, "tags": {"name": "fantasy"}},
        order_by={"title": "asc"},
    )
    print(f"fantasy books by Ursula: {[book.title for book in books]}")
    print(f"  sent: {counter.texts[0][:100]}...")
    counter.take()

    # 3. Populate: one batched $in query per relation level, never one per entity.
    authors = await em.find(Author, {}, populate=["books.tags"], order_by={"name": "asc"})
    for author in authors:
        print(f"{author.name} <{author.email}>")
        for book in sorted(author.books, key=lambda b: b.title):
            tags = ", ".join(sorted(tag.name for tag in book.tags))
            print(f"  - {book.title} ({book.price}) tags: {tags}")
    print(f"  loaded with: {counter.take()}")

    # 4. Update: the changed fields of every book in one bulk_write of UpdateOne($set).
    for book in authors[1].books:
        book.price = Decimal("12.50")
    await em.flush()
    print(f"repriced 3 books with: {counter.take()}")

    # 5. An aggregation pipeline of your own: documents come back as stored.
    per_author = await em.aggregate(
        Book,
        [
            {"$group": {"_id": "$author_id", "books": {"$sum": 1}, "total": {"$sum": "$price"}}},
            {"$sort": {"books": -1}},
        ],
    )
    for row in per_author:
        print(f"author {row['_id']}: {row['books']} book(s), {row['total']} in total")
    print(f"  ran with: {counter.take()}")

    # 6. Remove: removing a tag pulls its key out of every book's tags array; removing an
    #    author removes the books too (Cascade.ALL on Author.books).
    classic_tag = await em.find_one_or_fail(Tag, {"name": "classic"})
    counter.take()
    em.remove(classic_tag)
    em.remove(authors[0])  # Mary Oliver (sorted by name) and her book
    await em.flush()
    sent = "".join(f"\n  {text}" for text in counter.texts)
    print(f"removed a tag and an author with: {counter.take()}{sent}")
    left = orm.em.fork()
    counts = {name: await left.count(cls) for name, cls in (("authors", Author), ("books", Book))}
    tags_left = sorted(tag.name for tag in await left.find(Tag, {}))
    still_tagged = await left.count(Book, {"tags": {"name": {"$in": tags_left}}})
    print(f"left: {counts}, tags {tags_left}; {still_tagged} book(s) still tagged")


if __name__ == "__main__":
    asyncio.run(main())
