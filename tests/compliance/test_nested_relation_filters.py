"""Filters, orders and counts through to-one relations nested in other relations.

``{"author": {"passport": {"country": "FR"}}}`` on a book goes through two to-one relations.
On SQL each hop is a LEFT OUTER JOIN of the statement's FROM clause, so a missing relation in
the middle (a book without an author, an author without a passport) reads as NULL columns: the
rows expected below follow that reading, as the single-hop cases (``BASELINE``) already do.
A to-many relation stays an EXISTS subquery, so nothing here may repeat a root row.
"""

from __future__ import annotations

from typing import Any

import pytest

from orm.core import ORM, Collection, ManyToOne, OneToMany, OneToOne, PrimaryKey, entity

from ..conftest import StatementLog
from .conftest import MakeOrm


@entity(table="nr_country")
class NrCountry:
    code: str = PrimaryKey(length=2, init=True, autoincrement=False)
    name: str


@entity(table="nr_passport")
class NrPassport:
    id: int = PrimaryKey()
    number: str
    country: NrCountry | None = ManyToOne(NrCountry, nullable=True)
    holder: NrAuthor | None = OneToOne("NrAuthor", mapped_by="passport")


@entity(table="nr_author")
class NrAuthor:
    id: int = PrimaryKey()
    name: str
    passport: NrPassport | None = OneToOne(NrPassport, nullable=True)
    books: Collection[NrBook] = OneToMany("NrBook", mapped_by="author")


@entity(table="nr_publisher")
class NrPublisher:
    id: int = PrimaryKey()
    name: str
    books: Collection[NrBook] = OneToMany("NrBook", mapped_by="publisher")


@entity(table="nr_book")
class NrBook:
    id: int = PrimaryKey()
    title: str
    author: NrAuthor | None = ManyToOne(NrAuthor, nullable=True)
    publisher: NrPublisher | None = ManyToOne(NrPublisher, nullable=True)


ENTITIES = [NrCountry, NrPassport, NrAuthor, NrPublisher, NrBook]


async def _seed(orm: ORM) -> None:
    """Ana (passport P1, France), Ben (P2, Germany), Cid (P3, no country), Dee (no passport).

    Books: a1 (Ana, Alpha), a2 (Ana, Beta), b1 (Ben, Beta), c1 (Cid, Alpha), d1 (Dee, no
    publisher), x1 (no author, Beta). Gamma publishes nothing.
    """
    em = orm.em.fork()
    france, germany = NrCountry(code="FR", name="France"), NrCountry(code="DE", name="Germany")
    passports = [
        NrPassport(number="P1", country=france),
        NrPassport(number="P2", country=germany),
        NrPassport(number="P3", country=None),
    ]
    authors = {
        name: NrAuthor(name=name, passport=passport)
        for name, passport in zip(["Ana", "Ben", "Cid", "Dee"], [*passports, None], strict=True)
    }
    publishers = {name: NrPublisher(name=name) for name in ("Alpha", "Beta", "Gamma")}
    books = [
        ("a1", "Ana", "Alpha"),
        ("a2", "Ana", "Beta"),
        ("b1", "Ben", "Beta"),
        ("c1", "Cid", "Alpha"),
        ("d1", "Dee", None),
        ("x1", None, "Beta"),
    ]
    for title, author, publisher in books:
        em.persist(
            NrBook(
                title=title,
                author=None if author is None else authors[author],
                publisher=None if publisher is None else publishers[publisher],
            )
        )
    em.persist(publishers["Gamma"])
    await em.flush()


async def _titles(orm: ORM, where: Any, **options: Any) -> list[str]:
    options.setdefault("order_by", {"title": "asc"})
    return [b.title for b in await orm.em.fork().find(NrBook, where, **options)]


FR = {"author": {"passport": {"country": "FR"}}}

# One hop: what a missing relation reads as today, which the nested cases follow.
BASELINE = [
    ({"author": {"name": "Ana"}}, ["a1", "a2"]),
    ({"author": {"name": None}}, ["x1"]),
    ({"author": None}, ["x1"]),
    ({"$not": {"author": {"name": "Ana"}}}, ["b1", "c1", "d1"]),
]

NESTED = [
    # two to-one hops
    (FR, ["a1", "a2"]),
    ({"author": {"passport": {"number": "P2"}}}, ["b1"]),
    ({"author": {"passport": {"country": {"$in": ["FR", "DE"]}}}}, ["a1", "a2", "b1"]),
    ({"author": {"passport": None}}, ["d1", "x1"]),
    ({"author": {"passport": {"number": None}}}, ["d1", "x1"]),
    ({"author": {"passport": {"country": None}}}, ["c1", "d1", "x1"]),
    ({"author": {"passport": {"number": {"$ne": None}}}}, ["a1", "a2", "b1", "c1"]),
    # three to-one hops
    ({"author": {"passport": {"country": {"name": "France"}}}}, ["a1", "a2"]),
    ({"author": {"passport": {"country": {"name": {"$like": "%an%"}}}}}, ["a1", "a2", "b1"]),
    ({"author": {"passport": {"country": {"name": None}}}}, ["c1", "d1", "x1"]),
    # $not / $or around the nested condition
    ({"$not": FR}, ["b1"]),
    ({"$not": {"author": {"passport": {"country": {"name": "France"}}}}}, ["b1"]),
    ({"author": {"$not": {"passport": {"country": "FR"}}}}, ["b1"]),
    ({"$or": [FR, {"author": None}]}, ["a1", "a2", "x1"]),
    (
        {"$or": [{"author": {"passport": {"country": "DE"}}}, {"author": {"name": "Dee"}}]},
        ["b1", "d1"],
    ),
    ({"$and": [FR, {"publisher": {"name": "Beta"}}]}, ["a2"]),
    # the same relations reached twice: one join each
    ({"author": {"name": "Ana", "passport": {"number": "P1", "country": "FR"}}}, ["a1", "a2"]),
    ({"author": {"passport": {"country": "FR"}}, "publisher": {"name": "Alpha"}}, ["a1"]),
    # a to-many condition under to-one hops, with a to-one condition inside it
    ({"author": {"books": {"publisher": {"name": "Beta"}}}}, ["a1", "a2", "b1"]),
    ({"author": {"books": {"author": {"passport": {"country": "DE"}}}}}, ["b1"]),
    # an inverse one-to-one on the way (passport -> holder -> books)
    ({"author": {"passport": {"holder": {"name": "Ben"}}}}, ["b1"]),
]


@pytest.mark.parametrize(("where", "expected"), BASELINE + NESTED)
async def test_filter_through_nested_to_one_relations(
    make_orm: MakeOrm, where: Any, expected: list[str]
) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm)
    assert await _titles(orm, where) == expected


async def test_nested_filter_is_one_statement_without_repeated_roots(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm)
    em = orm.em.fork()
    sql_log.clear()
    books = await em.find(
        NrBook,
        {"author": {"passport": {"country": {"name": "France"}}}, "$or": [FR, {"publisher": None}]},
        order_by={"author": {"passport": {"number": "asc"}}, "title": "asc"},
    )
    assert [b.title for b in books] == ["a1", "a2"]
    assert sql_log.count("SELECT") == 1
    if orm.driver.platform.sql:
        # author, passport, country: each joined once into the FROM clause, shared by the
        # filter, the $or and the order (publisher.id is the book's own column).
        assert sql_log.statements[0].upper().count("LEFT OUTER JOIN") == 3


async def test_order_through_two_to_one_hops(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm)
    by_number = {"author": {"passport": {"number": "desc nulls last"}}, "title": "asc"}
    assert await _titles(orm, None, order_by=by_number) == ["c1", "b1", "a1", "a2", "d1", "x1"]
    by_country = {"author": {"passport": {"country": {"name": "asc nulls first"}}}, "title": "desc"}
    assert await _titles(orm, None, order_by=by_country) == ["x1", "d1", "c1", "a2", "a1", "b1"]
    # Filter and order through the same hops.
    known = {"author": {"passport": {"country": {"$ne": None}}}}
    ordered = {"author": {"passport": {"country": {"name": "desc"}}}, "title": "desc"}
    assert await _titles(orm, known, order_by=ordered) == ["b1", "a2", "a1"]
    paged = await _titles(orm, known, order_by=ordered, limit=2, offset=1)
    assert paged == ["a2", "a1"]


async def test_count_with_nested_filters(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm)
    em = orm.em.fork()
    assert await em.count(NrBook, FR) == 2
    assert await em.count(NrBook, {"author": {"passport": {"country": {"name": None}}}}) == 3
    assert await em.count(NrBook, {"$not": FR}) == 1
    found, total = await em.find_and_count(NrBook, FR, order_by={"title": "desc"}, limit=1)
    assert [b.title for b in found] == ["a2"] and total == 2
    assert await em.count(NrPublisher, {"books": FR}) == 2


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"books": {"author": {"name": "Ben"}}}, ["Beta"]),
        ({"books": FR}, ["Alpha", "Beta"]),
        ({"books": {"author": {"passport": {"country": {"name": "Germany"}}}}}, ["Beta"]),
        ({"books": {"author": {"passport": None}}}, ["Beta"]),  # x1 has no author
        ({"books": {"author": {"passport": {"number": "P3"}}}}, ["Alpha"]),
        ({"$not": {"books": {"author": {"passport": {"country": "DE"}}}}}, ["Alpha", "Gamma"]),
        ({"books": {"$not": FR}}, ["Beta"]),
        ({"books": {"$or": [FR, {"title": "x1"}]}}, ["Alpha", "Beta"]),
        ({"books": {"title": "c1", "author": {"passport": {"country": None}}}}, ["Alpha"]),
        ({"books": {"title": "c1", "author": {"passport": {"country": "FR"}}}}, []),
    ],
)
async def test_to_many_condition_holding_to_one_conditions(
    make_orm: MakeOrm, where: Any, expected: list[str]
) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm)
    found = await orm.em.fork().find(NrPublisher, where, order_by={"name": "asc"})
    assert [p.name for p in found] == expected


async def test_inverse_one_to_one_then_to_many_then_to_one(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm)
    where = {"holder": {"books": {"publisher": {"name": "Beta"}}}}
    found = await orm.em.fork().find(NrPassport, where, order_by={"number": "asc"})
    assert [p.number for p in found] == ["P1", "P2"]


STRATEGIES = [
    pytest.param("select-in"),
    pytest.param("joined", marks=pytest.mark.capability("joined_loading")),
    pytest.param("json-aggregate", marks=pytest.mark.capability("json_aggregate_loading")),
]


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_populate_with_nested_filter_pages_root_rows(
    make_orm: MakeOrm, strategy: str
) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm)
    em = orm.em.fork()
    known = {"books": {"author": {"passport": {"country": {"$ne": None}}}}}
    publishers = await em.find(
        NrPublisher,
        known,
        populate=["books.author.passport.country"],
        populate_order_by={"books": {"title": "asc"}},
        order_by={"name": "asc"},
        limit=1,
        strategy=strategy,
    )
    assert [(p.name, [b.title for b in p.books]) for p in publishers] == [("Alpha", ["a1", "c1"])]
    second = await orm.em.fork().find(
        NrPublisher,
        known,
        populate=["books"],
        order_by={"name": "asc"},
        limit=5,
        offset=1,
        strategy=strategy,
    )
    assert [(p.name, len(p.books)) for p in second] == [("Beta", 3)]
    books = await orm.em.fork().find(
        NrBook,
        {"author": {"passport": {"country": {"name": {"$ne": None}}}}},
        populate=["author.passport.country", "author.books"],
        order_by={"author": {"passport": {"number": "asc"}}, "title": "asc"},
        limit=2,
        strategy=strategy,
    )
    shape = [
        (
            b.title,
            None if b.author is None or b.author.passport is None else b.author.passport.number,
            None if b.author is None else sorted(x.title for x in b.author.books),
        )
        for b in books
    ]
    assert shape == [("a1", "P1", ["a1", "a2"]), ("a2", "P1", ["a1", "a2"])]
