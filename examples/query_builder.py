"""The low-level QueryBuilder on embedded SQLite: every method once, with the SQL it sends.

Run it with:  uv run python examples/query_builder.py
Set ORM_URL to run the same script on another database (e.g. postgresql://...).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from decimal import Decimal
from typing import Any

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
)
from orm.query_builder import QueryBuilder, exists, raw, ref


@entity
class Author:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str = Property(unique=True)
    age: int | None = None
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)

    def __init__(self, name: str, email: str, *, age: int | None = None) -> None:
        self.name = name
        self.email = email
        self.age = age


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    price: Decimal | None = Property(precision=8, scale=2, default=None)
    author: Author = ManyToOne(Author)
    tags: Collection[Tag] = ManyToMany("Tag")


@entity
class Tag:
    id: int = PrimaryKey()
    name: str = Property(unique=True)


def show_sql() -> None:
    """Print every statement orm sends (they all go to the 'orm.sql' logger)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("    sql> %(message)s"))
    logger = logging.getLogger("orm.sql")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


async def seed(orm: ORM) -> None:
    em = orm.em.fork()
    fiction, history = Tag(name="fiction"), Tag(name="history")
    jon = Author("Jon Snow", "jon@wall.st", age=30)
    jane = Author("Jane Austen", "jane@bath.uk", age=41)
    homer = Author("Homer", "homer@troy.gr")
    for author, title, price, tags in [
        (jon, "Winter", "10.50", [fiction]),
        (jon, "Wall", "5.00", [history]),
        (jane, "Emma", "20.00", [fiction]),
        (homer, "Iliad", None, [history]),
    ]:
        book = Book(title=title, author=author, price=None if price is None else Decimal(price))
        book.tags.add(*tags)
    em.persist([jon, jane, homer])
    await em.flush()


def books(em: EntityManager) -> QueryBuilder[Book]:
    qb: QueryBuilder[Book] = em.create_query_builder(Book, "b")
    return qb


def authors(em: EntityManager) -> QueryBuilder[Author]:
    qb: QueryBuilder[Author] = em.create_query_builder(Author, "a")
    return qb


def title(text: str) -> None:
    print(f"\n== {text}")


async def main() -> None:
    orm = await ORM.init(
        url=os.environ.get("ORM_URL", "sqlite://:memory:"), entities=[Author, Book, Tag]
    )
    await orm.schema.drop()
    await orm.schema.create()
    await seed(orm)
    show_sql()
    em = orm.em.fork()

    title("select + join + where + order_by -> plain dicts (execute)")
    rows: list[dict[str, Any]] = await (
        books(em)
        .select("b.title", "a.name as author")
        .join("b.author", "a")
        .where({"a.name": {"$like": "J%"}, "price": {"$gte": Decimal("5")}})
        .order_by({"a.name": "asc", "b.title": "desc"})
        .execute()
    )
    print(rows)

    title("aggregates, group_by, having, NULLS LAST")
    print(
        await authors(em)
        .select("a.name", "count(b.id) as books", "sum(b.price) as total")
        .left_join("a.books", "b")
        .group_by("a.name")
        .having({"books": {"$gte": 1}})
        .order_by({"total": "desc nulls last"})
        .execute()
    )

    title("join_and_select: entities with their collections, one statement")
    loaded = await (
        authors(em)
        .left_join_and_select("a.books", "b")
        .left_join_and_select("b.tags", "t")
        .order_by({"a.name": "asc", "b.title": "asc"})
        .limit(2)  # two authors, however many books they have
        .get_result_list()
    )
    for author in loaded:
        print(author.name, [(book.title, [tag.name for tag in book.tags]) for book in author.books])

    title("subqueries: $in, exists with ref(), a subquery column")
    fiction = books(em).select("b.author").join("b.tags", "t").where({"t.name": "fiction"})
    print(await authors(em).select("a.name").where({"id": {"$in": fiction}}).execute())
    cheap = books(em).where({"author": ref("a.id"), "price": {"$lt": 8}})
    print(await authors(em).select("a.name").where(exists(cheap)).execute())
    count = books(em).count().where({"author": ref("a.id")})
    print(await authors(em).select("a.name", count.as_("books")).order_by({"a.name": 1}).execute())

    title("raw(): hand-written SQL, values still bound")
    print(
        await authors(em)
        .select("a.name", raw("lower(a.name) as lowered"))
        .where(raw("length(a.name) > :n", {"n": 5}))
        .or_where({"age": None})
        .execute()
    )

    title("counts, single results, debugging output (sends nothing)")
    print(await authors(em).join("a.books", "b").get_count())
    print(await authors(em).where({"age": {"$gt": 35}}).get_single_result())
    debug = authors(em).select("a.name").where({"name": "it's"})
    print(debug.get_query(), debug.get_params())
    print(debug)  # = get_formatted_query(): values written in, for reading only

    title("bulk writes: bypass the unit of work")
    print(await authors(em).insert({"name": "Ann", "email": "ann@x.io", "age": 7}).execute())
    print(
        await authors(em)
        .update({"age": raw("age + :n", {"n": 1})})
        .where({"age": {"$ne": None}})
        .execute()
    )
    print(await books(em).delete().where({"author": {"name": "Homer"}}).execute())
    print(await orm.em.fork().find(Author, {"age": {"$ne": None}}, order_by={"name": "asc"}))
    await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
