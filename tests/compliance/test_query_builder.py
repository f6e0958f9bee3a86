"""The low-level QueryBuilder on every SQL database: each method's results and the number of
statements it sends (``em.create_query_builder``; docs/query-builder.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orm.core import ORM, EntityManager, ValidationError
from orm.query_builder import QueryBuilder, exists, not_exists, raw, ref

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author, Book, Course, Enrollment, Profile, Publisher, Student, Tag

# The query builder and raw SQL: databases that speak SQL (Platform.sql).
pytestmark = pytest.mark.capability("sql")

# (name, email, age, [(title, price, [tags])]); Iliad has no publisher, bob no books.
AUTHORS: list[tuple[str, str, int | None, list[tuple[str, str | None, list[str]]]]] = [
    (
        "Jon Snow",
        "jon@wall.st",
        30,
        [("Winter", "10.50", ["fiction"]), ("Wall", "5.00", ["history"])],
    ),
    ("Jane Austen", "jane@bath.uk", 41, [("Emma", "20.00", ["fiction", "poetry"])]),
    ("Homer", "homer@troy.gr", None, [("Iliad", None, ["poetry", "history"])]),
    ("bob", "bob@x.io", 20, []),
]


async def _library(orm: ORM) -> None:
    em = orm.em.fork()
    penguin = Publisher(name="Penguin")
    tags = {name: Tag(name=name) for name in ("fiction", "poetry", "history")}
    for name, email, age, books in AUTHORS:
        author = Author(name, email, age=age)
        for title, price, tag_names in books:
            book = Book(
                title=title,
                author=author,
                publisher=penguin if title != "Iliad" else None,
                price=None if price is None else Decimal(price),
            )
            book.tags.add(*(tags[t] for t in tag_names))
        em.persist(author)
        if name == "Jon Snow":
            em.persist(Profile(bio="Knows nothing", author=author))
    await em.flush()


async def _setup(make_orm: MakeOrm, sql_log: StatementLog) -> tuple[ORM, EntityManager]:
    orm = await make_orm(LIBRARY)
    await _library(orm)
    sql_log.clear()
    return orm, orm.em.fork()


def _qb(em: EntityManager, entity: type[Any], alias: str) -> QueryBuilder[Any]:
    qb: QueryBuilder[Any] = em.create_query_builder(entity, alias)
    return qb


# -- select ------------------------------------------------------------------------------------


async def test_select_properties_of_joined_alias(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    qb = (
        _qb(em, Book, "b")
        .select("b.title", "a.name as author")
        .join("b.author", "a")
        .where({"a.name": {"$like": "J%"}})
        .order_by({"b.title": "asc"})
    )
    rows = await qb.execute()
    assert rows == [
        {"title": "Emma", "author": "Jane Austen"},
        {"title": "Wall", "author": "Jon Snow"},
        {"title": "Winter", "author": "Jon Snow"},
    ]
    assert len(sql_log.statements) == 1


async def test_select_relation_paths(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    jon = await em.find_one_or_fail(Author, {"name": "Jon Snow"})
    sql_log.clear()
    rows = await (
        _qb(em, Book, "b")
        .select("b.title", "b.author", "b.author.name", "b.publisher.name as publisher")
        .order_by({"b.title": "asc"})
        .execute()
    )
    assert [(r["title"], r["name"], r["publisher"]) for r in rows] == [
        ("Emma", "Jane Austen", "Penguin"),
        ("Iliad", "Homer", None),
        ("Wall", "Jon Snow", "Penguin"),
        ("Winter", "Jon Snow", "Penguin"),
    ]
    assert rows[2]["author"] == jon.id  # a relation selects its key
    assert len(sql_log.statements) == 1


async def test_select_star_and_distinct(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    rows = await _qb(em, Author, "a").where({"name": "bob"}).execute()
    assert len(rows) == 1
    assert set(rows[0]) == {"id", "name", "email", "age", "born"}
    assert rows[0]["email"] == "bob@x.io" and rows[0]["born"] is None
    names = await (
        _qb(em, Author, "a")
        .select("a.name")
        .distinct()
        .join("a.books", "b")
        .order_by({"a.name": "asc"})
        .execute()
    )
    assert names == [{"name": "Homer"}, {"name": "Jane Austen"}, {"name": "Jon Snow"}]
    assert len(sql_log.statements) == 2


async def test_aggregates_group_by_having(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    rows = await (
        _qb(em, Author, "a")
        .select("a.name", "count(b.id) as books", "sum(b.price) as total", "max(b.title) as last")
        .left_join("a.books", "b")
        .group_by("a.name")
        .having({"books": {"$gte": 1}})
        .order_by({"books": "desc", "a.name": "asc"})
        .execute()
    )
    assert rows == [
        {"name": "Jon Snow", "books": 2, "total": Decimal("15.50"), "last": "Winter"},
        {"name": "Homer", "books": 1, "total": None, "last": "Iliad"},
        {"name": "Jane Austen", "books": 1, "total": Decimal("20.00"), "last": "Emma"},
    ]
    stats = await (
        _qb(em, Author, "a")
        .select(
            "count(*) as n",
            "count(a.age) as with_age",
            "sum(a.age) as s",
            "avg(a.age) as mean",
            "min(a.age)",
            "max(a.email)",
        )
        .execute("get")
    )
    assert stats == {
        "n": 4,
        "with_age": 3,
        "s": 91,
        "mean": pytest.approx(91 / 3, abs=1e-3),
        "min": 20,
        "max": "jon@wall.st",
    }
    # having on an aggregate written out, or on a grouped property
    grouped = await (
        _qb(em, Book, "b")
        .select("b.title", "count(distinct t.id) as tags")
        .join("b.tags", "t")
        .group_by("b.title")
        .having({"count(distinct t.id)": {"$gt": 1}})
        .or_having({"b.title": "Wall"})
        .order_by({"b.title": "asc"})
        .execute()
    )
    assert grouped == [
        {"title": "Emma", "tags": 2},
        {"title": "Iliad", "tags": 2},
        {"title": "Wall", "tags": 1},
    ]
    assert len(sql_log.statements) == 3


async def test_raw_in_select_and_where(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    rows = await (
        _qb(em, Author, "a")
        .select("a.name", raw("lower(a.name) as lowered"), raw("a.age + :n", {"n": 1}).as_("next"))
        .where(raw("lower(a.name) = :name", {"name": "jon snow"}))
        .execute()
    )
    assert rows == [{"name": "Jon Snow", "lowered": "jon snow", "next": 31}]
    assert len(sql_log.statements) == 1
    with pytest.raises(ValidationError, match="placeholder"):
        raw("a.name = :name")
    with pytest.raises(ValidationError, match="no such"):
        raw("a.name = 'x'", {"name": "x"})
    with pytest.raises(ValidationError, match="name the raw column"):
        await _qb(em, Author, "a").select(raw("lower(a.name)")).execute()
    assert len(sql_log.statements) == 1


# -- where ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda qb: qb.where({"age": {"$gte": 30}}), ["Jane Austen", "Jon Snow"]),
        (lambda qb: qb.where({"a.age": None}), ["Homer"]),
        (lambda qb: qb.where({"a": {"name": "bob"}}), ["bob"]),
        (lambda qb: qb.where({"books": {"tags": {"name": "poetry"}}}), ["Homer", "Jane Austen"]),
        (lambda qb: qb.where({"a.books.title": "Emma"}), ["Jane Austen"]),
        (lambda qb: qb.where({"$or": [{"name": "bob"}, {"a.age": 41}]}), ["Jane Austen", "bob"]),
        (lambda qb: qb.where({"$not": {"name": {"$like": "J%"}}}), ["Homer", "bob"]),
        (
            lambda qb: qb.where({"age": {"$gt": 25}}).and_where({"name": {"$like": "%n%"}}),
            ["Jane Austen", "Jon Snow"],
        ),
        (
            lambda qb: qb.where({"age": {"$gt": 35}}).or_where({"name": "bob"}),
            ["Jane Austen", "bob"],
        ),
        (
            lambda qb: (
                qb.where({"age": {"$gt": 35}})
                .or_where({"name": "bob"})
                .and_where({"age": {"$lt": 30}})
            ),
            ["bob"],
        ),
        (lambda qb: qb.where({"b.title": "Iliad"}).join("a.books", "b"), ["Homer"]),
        (
            lambda qb: qb.left_join("a.profile", "p").where({"p.bio": {"$like": "Knows%"}}),
            ["Jon Snow"],
        ),
    ],
)
async def test_where(
    make_orm: MakeOrm, sql_log: StatementLog, build: Any, expected: list[str]
) -> None:
    _, em = await _setup(make_orm, sql_log)
    qb = build(_qb(em, Author, "a").select("a.name").order_by({"a.name": "asc"}))
    assert [row["name"] for row in await qb.execute()] == expected
    assert len(sql_log.statements) == 1


async def test_where_takes_keys_and_entities(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    jane = await em.find_one_or_fail(Author, {"name": "Jane Austen"})
    assert await _qb(em, Author, "a").where(jane.id).get_result_list() == [jane]
    books = await _qb(em, Book, "b").where({"author": jane}).get_result_list()
    assert [b.title for b in books] == ["Emma"]


# -- joins -----------------------------------------------------------------------------------


async def test_join_and_left_join(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    inner = await (
        _qb(em, Book, "b")
        .select("b.title", "p.name")
        .join("b.publisher", "p")
        .order_by({"b.title": "asc"})
        .execute()
    )
    assert [r["title"] for r in inner] == ["Emma", "Wall", "Winter"]
    left = await (
        _qb(em, Book, "b")
        .select("b.title", "p.name")
        .left_join("b.publisher", "p")
        .order_by({"b.title": "asc"})
        .execute()
    )
    assert [(r["title"], r["name"]) for r in left] == [
        ("Emma", "Penguin"),
        ("Iliad", None),
        ("Wall", "Penguin"),
        ("Winter", "Penguin"),
    ]
    # many-to-many through the pivot, both directions, and a join condition
    tagged = await (
        _qb(em, Tag, "t")
        .select("t.name", "b.title")
        .join("t.books", "b")
        .left_join("b.author", "a", {"name": {"$ne": "Homer"}})
        .where({"a.id": {"$exists": True}})
        .order_by({"t.name": "asc", "b.title": "asc"})
        .execute()
    )
    assert [(r["name"], r["title"]) for r in tagged] == [
        ("fiction", "Emma"),
        ("fiction", "Winter"),
        ("history", "Wall"),
        ("poetry", "Emma"),
    ]
    counts = await (
        _qb(em, Author, "a")
        .select("a.name", "count(b.id) as n")
        .left_join("a.books", "b", {"title": {"$like": "W%"}})
        .group_by("a.name")
        .order_by({"a.name": "asc"})
        .execute()
    )
    assert [r["n"] for r in counts] == [0, 0, 2, 0]
    assert len(sql_log.statements) == 4


async def test_join_and_select_fills_references_and_collections(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    _, em = await _setup(make_orm, sql_log)
    authors = await (
        _qb(em, Author, "a")
        .left_join_and_select("a.books", "b")
        .left_join_and_select("b.tags", "t")
        .left_join_and_select("b.publisher", "p")
        .left_join_and_select("a.profile", "pr")
        .order_by({"a.name": "asc", "b.title": "asc", "t.name": "asc"})
        .get_result_list()
    )
    assert len(sql_log.statements) == 1
    assert [a.name for a in authors] == ["Homer", "Jane Austen", "Jon Snow", "bob"]
    shelf = {a.name: [(b.title, [t.name for t in b.tags]) for b in a.books] for a in authors}
    assert shelf == {
        "Homer": [("Iliad", ["history", "poetry"])],
        "Jane Austen": [("Emma", ["fiction", "poetry"])],
        "Jon Snow": [("Wall", ["history"]), ("Winter", ["fiction"])],
        "bob": [],
    }
    jon = authors[2]
    assert jon.books[0].publisher.name == "Penguin"
    assert jon.profile is not None and jon.profile.bio == "Knows nothing"
    assert authors[0].profile is None and authors[0].books[0].publisher is None
    assert all(book.author is jon for book in jon.books)
    fiction = jon.books[1].tags[0]
    assert fiction is authors[1].books[0].tags[0]  # one object per row (identity map)
    assert len(sql_log.statements) == 1  # everything above came from the one statement


async def test_inner_join_and_select_and_to_one(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    books = await (
        _qb(em, Book, "b")
        .join_and_select("b.author", "a")
        .join_and_select("b.publisher", "p")
        .where({"a.age": {"$gte": 30}})
        .order_by({"b.title": "desc"})
        .get_result_list()
    )
    assert [(b.title, b.author.name, b.publisher.name) for b in books] == [
        ("Winter", "Jon Snow", "Penguin"),
        ("Wall", "Jon Snow", "Penguin"),
        ("Emma", "Jane Austen", "Penguin"),
    ]
    assert books[0].author is books[1].author
    # a condition on a to-many join fills the collection with the matching items
    tags = await (
        _qb(em, Tag, "t")
        .join_and_select("t.books", "b", {"title": {"$in": ["Emma", "Iliad"]}})
        .order_by({"t.name": "asc", "b.title": "asc"})
        .get_result_list()
    )
    assert [(t.name, [b.title for b in t.books]) for t in tags] == [
        ("fiction", ["Emma"]),
        ("history", ["Iliad"]),
        ("poetry", ["Emma", "Iliad"]),
    ]
    assert len(sql_log.statements) == 2


async def test_join_errors(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    qb = _qb(em, Book, "b")
    with pytest.raises(ValidationError, match="unknown alias 'x'"):
        qb.join("x.author", "a")
    with pytest.raises(ValidationError, match="no relation 'title'"):
        qb.join("b.title", "a")
    with pytest.raises(ValidationError, match="no property 'writer'"):
        qb.join("b.writer", "a")
    with pytest.raises(ValidationError, match="taken"):
        qb.join("b.author", "b")
    with pytest.raises(ValidationError, match="reserved"):
        qb.join("b.author", "e0")
    with pytest.raises(ValidationError, match="identifier"):
        qb.join("b.author", "a; DROP")
    qb.join("b.author", "a")
    with pytest.raises(ValidationError, match="selected"):
        qb.join_and_select("a.profile", "p")
    assert sql_log.statements == []


# -- order, limit, offset ------------------------------------------------------------------------


async def test_order_by_joined_alias_and_nulls(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)

    async def names(order: dict[str, Any]) -> list[str]:
        rows = await _qb(em, Author, "a").select("a.name").order_by(order).execute()
        return [r["name"] for r in rows]

    assert await names({"a.age": "asc nulls first"}) == ["Homer", "bob", "Jon Snow", "Jane Austen"]
    assert await names({"a.age": "asc nulls last"}) == ["bob", "Jon Snow", "Jane Austen", "Homer"]
    assert await names({"a.age": "desc nulls first"}) == ["Homer", "Jane Austen", "Jon Snow", "bob"]
    assert await names({"a.age": "DESC NULLS LAST"}) == ["Jane Austen", "Jon Snow", "bob", "Homer"]
    assert await names({"a.age": -1, "a.name": 1}) in (
        ["Homer", "Jane Austen", "Jon Snow", "bob"],  # NULL sorts high (PostgreSQL)
        ["Jane Austen", "Jon Snow", "bob", "Homer"],  # NULL sorts low (SQLite, MySQL)
    )
    titles = await (
        _qb(em, Book, "b")
        .select("b.title")
        .left_join("b.publisher", "p")
        .order_by({"p.name": "desc nulls last"}, {"b.author": {"name": "asc"}, "b.title": "desc"})
        .execute()
    )
    assert [t["title"] for t in titles] == ["Emma", "Winter", "Wall", "Iliad"]
    assert len(sql_log.statements) == 6
    with pytest.raises(ValidationError, match="direction"):
        _qb(em, Author, "a").order_by({"a.name": "sideways"})
    with pytest.raises(ValidationError, match="nulls"):
        _qb(em, Author, "a").order_by({"a.name": "asc nulls middle"})


async def test_limit_offset(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    page = await (
        _qb(em, Author, "a")
        .select("a.name")
        .order_by({"a.name": "asc"})
        .limit(2)
        .offset(1)
        .execute()
    )
    assert page == [{"name": "Jane Austen"}, {"name": "Jon Snow"}]
    assert len(sql_log.statements) == 1
    with pytest.raises(ValidationError):
        _qb(em, Author, "a").limit(-1)
    with pytest.raises(ValidationError):
        _qb(em, Author, "a").offset("1")  # type: ignore[arg-type]


async def test_limit_applies_to_roots_with_to_many_joins(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    _, em = await _setup(make_orm, sql_log)
    authors = await (
        _qb(em, Author, "a")
        .left_join_and_select("a.books", "b")
        .left_join_and_select("b.tags", "t")
        .order_by({"a.name": "desc", "b.title": "asc", "t.name": "asc"})
        .limit(2)
        .offset(1)
        .get_result_list()
    )
    assert [a.name for a in authors] == ["Jon Snow", "Jane Austen"]
    assert [b.title for b in authors[0].books] == ["Wall", "Winter"]
    assert [t.name for t in authors[1].books[0].tags] == ["fiction", "poetry"]
    single = await (
        _qb(em, Author, "a")
        .join_and_select("a.books", "b")
        .where({"b.title": {"$like": "W%"}})
        .get_single_result()
    )
    assert single is authors[0]
    assert await _qb(em, Author, "a").where({"name": "nobody"}).get_single_result() is None
    assert len(sql_log.statements) == 3


# -- subqueries -------------------------------------------------------------------------------


async def test_subquery_as_filter_value(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    poetry_authors = (
        _qb(em, Book, "b2").select("b2.author").join("b2.tags", "t").where({"t.name": "poetry"})
    )
    rows = await (
        _qb(em, Author, "a")
        .select("a.name")
        .where({"id": {"$in": poetry_authors}})
        .order_by({"a.name": "asc"})
        .execute()
    )
    assert rows == [{"name": "Homer"}, {"name": "Jane Austen"}]
    others = await (
        _qb(em, Author, "a")
        .select("a.name")
        .where({"a.id": {"$nin": poetry_authors}})
        .order_by({"a.name": "asc"})
        .execute()
    )
    assert others == [{"name": "Jon Snow"}, {"name": "bob"}]
    # without select(), a subquery returns its root's key; with limit it is a derived table
    oldest = _qb(em, Author, "o").order_by({"o.age": "desc nulls last"}).limit(1)
    assert [
        r["title"]
        for r in await _qb(em, Book, "b")
        .select("b.title")
        .where({"author": {"$in": oldest}})
        .execute()
    ] == ["Emma"]
    # a scalar subquery compared with a column
    average = _qb(em, Author, "x").select("avg(x.age)")
    older = await _qb(em, Author, "a").select("a.name").where({"age": {"$gt": average}}).execute()
    assert older == [{"name": "Jane Austen"}]
    # the plain em.find() accepts a builder as a value too
    found = await em.find(Author, {"id": {"$in": poetry_authors}}, order_by={"name": "asc"})
    assert [a.name for a in found] == ["Homer", "Jane Austen"]
    assert len(sql_log.statements) == 5


async def test_exists_and_correlated_subqueries(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    history = (
        _qb(em, Book, "b").join("b.tags", "t").where({"b.author": ref("a.id"), "t.name": "history"})
    )
    with_history = await (
        _qb(em, Author, "a")
        .select("a.name")
        .where(exists(history))
        .order_by({"a.name": "asc"})
        .execute()
    )
    assert with_history == [{"name": "Homer"}, {"name": "Jon Snow"}]
    without = await (
        _qb(em, Author, "a")
        .select("a.name")
        .where(not_exists(history))
        .order_by({"a.name": "asc"})
        .execute()
    )
    assert without == [{"name": "Jane Austen"}, {"name": "bob"}]
    counted = _qb(em, Book, "b").count().where({"author": ref("a.id")})
    rows = await (
        _qb(em, Author, "a")
        .select("a.name", counted.as_("books"))
        .order_by({"books": "desc", "a.name": "asc"})
        .execute()
    )
    assert rows == [
        {"name": "Jon Snow", "books": 2},
        {"name": "Homer", "books": 1},
        {"name": "Jane Austen", "books": 1},
        {"name": "bob", "books": 0},
    ]
    priciest = _qb(em, Book, "b").select("max(b.price)").where({"author": ref("a.id")})
    prices = await (
        _qb(em, Author, "a")
        .select("a.name", priciest.as_("top"))
        .where({"age": {"$ne": None}})
        .order_by({"a.name": "asc"})
        .execute()
    )
    assert prices == [
        {"name": "Jane Austen", "top": Decimal("20.00")},
        {"name": "Jon Snow", "top": Decimal("10.50")},
        {"name": "bob", "top": None},
    ]
    assert len(sql_log.statements) == 4
    with pytest.raises(ValidationError, match="names no alias"):
        await _qb(em, Book, "b").where({"author": ref("zz.id")}).execute()
    with pytest.raises(ValidationError, match="one column"):
        await (
            _qb(em, Author, "a")
            .where({"id": {"$in": _qb(em, Book, "b").select("b.id", "b.title")}})
            .execute()
        )
    assert len(sql_log.statements) == 4


# -- results --------------------------------------------------------------------------------------


async def test_execute_modes(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    qb = _qb(em, Author, "a").select("a.name").where({"age": {"$gte": 30}}).order_by({"a.name": 1})
    assert await qb.execute("all") == [{"name": "Jane Austen"}, {"name": "Jon Snow"}]
    assert await qb.execute("get") == {"name": "Jane Austen"}
    assert await _qb(em, Author, "a").where({"name": "nobody"}).execute("get") is None
    assert await _qb(em, Author, "a").count().execute("get") == {"count": 4}
    assert await _qb(em, Book, "b").count("b.publisher").execute() == [{"count": 3}]
    assert await _qb(em, Book, "b").count("b.publisher", distinct=True).execute("get") == {
        "count": 1
    }
    assert len(sql_log.statements) == 6
    with pytest.raises(ValidationError, match="'all', 'get' or 'run'"):
        await qb.execute("many")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="execute\\('run'\\)"):
        await _qb(em, Author, "a").delete().execute("all")
    assert len(sql_log.statements) == 6


async def test_get_count(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    assert await _qb(em, Author, "a").get_count() == 4
    assert await _qb(em, Author, "a").where({"age": {"$gt": 25}}).limit(1).get_count() == 2
    # roots, not joined rows
    assert await _qb(em, Author, "a").join("a.books", "b").get_count() == 3
    assert (
        await _qb(em, Author, "a").left_join("a.books", "b").left_join("b.tags", "t").get_count()
        == 4
    )
    # groups
    grouped = _qb(em, Book, "b").join("b.tags", "t").group_by("t.name").having({"count(b.id)": 2})
    assert await grouped.get_count() == 3
    page, total = await _qb(em, Author, "a").order_by({"a.name": 1}).limit(1).get_result_and_count()
    assert [a.name for a in page] == ["Homer"] and total == 4
    assert len(sql_log.statements) == 7


async def test_results_merge_into_identity_map(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    jon = await em.find_one_or_fail(Author, {"name": "Jon Snow"})
    jon.age = 99  # not flushed
    sql_log.clear()
    found = await _qb(em, Author, "a").where({"age": 30}).get_result_list()
    assert found == [jon] and found[0] is jon and jon.age == 99
    assert em.is_managed(found[0])
    books = (
        await _qb(em, Book, "b").where({"author": jon}).order_by({"b.title": 1}).get_result_list()
    )
    assert all(b.author is jon for b in books) and all(em.is_managed(b) for b in books)
    again = await _qb(em, Book, "b").where({"title": "Wall"}).get_single_result()
    assert again is books[0]
    assert len(sql_log.statements) == 3
    await em.flush()  # the builder's reads did not disturb change tracking
    assert sql_log.count("UPDATE") == 1


async def test_debug_output_sends_nothing(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    qb = _qb(em, Author, "a").select("a.name").where({"name": "it's", "age": {"$gt": 3}})
    query = qb.get_query()
    assert "it's" not in query and "SELECT a.name" in query
    assert qb.get_params() == ["it's", 3]
    formatted = qb.get_formatted_query()
    assert "'it''s'" in formatted or "'it\\'s'" in formatted
    assert str(qb) == formatted
    assert "DELETE FROM" in _qb(em, Author, "a").delete().where({"name": "x"}).get_query()
    assert sql_log.statements == []


# -- writes ------------------------------------------------------------------------------------


async def test_insert(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    jon = await em.find_one_or_fail(Author, {"name": "Jon Snow"})
    sql_log.clear()
    assert (
        await _qb(em, Author, "a").insert({"name": "Ann", "email": "ann@x.io", "age": 7}).execute()
        == 1
    )
    inserted = (
        await _qb(em, Book, "b")
        .insert(
            [
                {"title": "Ice", "author": jon, "price": Decimal("1.25")},
                {"title": "Fire", "author": jon.id},
            ]
        )
        .execute()
    )
    assert inserted == 2
    assert len(sql_log.statements) == 2 and sql_log.count("INSERT") == 2
    assert await _qb(em, Author, "a").insert([]).execute() == 0
    assert len(sql_log.statements) == 2
    fresh = em.fork()
    ann = await fresh.find_one_or_fail(Author, {"name": "Ann"})
    assert (ann.email, ann.age) == ("ann@x.io", 7)
    titles = await fresh.find(Book, {"author": {"name": "Jon Snow"}}, order_by={"title": "asc"})
    assert [(b.title, b.price) for b in titles] == [
        ("Fire", None),
        ("Ice", Decimal("1.25")),
        ("Wall", Decimal("5.00")),
        ("Winter", Decimal("10.50")),
    ]
    with pytest.raises(ValidationError, match="no property 'nope'"):
        _qb(em, Author, "a").insert({"nope": 1}).get_query()
    with pytest.raises(ValidationError, match="expected an int"):
        _qb(em, Author, "a").insert({"name": "x", "email": "y", "age": "old"}).get_query()
    with pytest.raises(ValidationError, match="collection"):
        _qb(em, Author, "a").insert({"name": "x", "email": "y", "books": []}).get_query()


async def test_insert_applies_entity_defaults(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm([Student, Course, Enrollment])
    em = orm.em.fork()
    student, course = Student(name="s"), Course(title="c")
    em.persist([student, course])
    await em.flush()
    sql_log.clear()
    await (
        _qb(em, Enrollment, "e")
        .insert({"student": student, "course": course, "year": 2024})
        .execute()
    )
    rows = await _qb(em, Enrollment, "e").select("e.student", "e.year", "e.grade").execute()
    assert rows == [{"student": student.id, "year": 2024, "grade": None}]
    loaded = await _qb(em, Enrollment, "e").join_and_select("e.student", "s").get_result_list()
    assert loaded[0].student is student and loaded[0].year == 2024
    assert len(sql_log.statements) == 3


async def test_update(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm, em = await _setup(make_orm, sql_log)
    assert await _qb(em, Author, "a").update({"age": 50}).where({"name": "bob"}).execute() == 1
    bumped = await (
        _qb(em, Author, "a")
        .update({"age": raw("age + :n", {"n": 1})})
        .where({"age": {"$ne": None}, "name": {"$ne": "bob"}})
        .execute()
    )
    assert bumped == 2
    # a filter through a to-one relation, and one through a to-many relation
    assert (
        await _qb(em, Book, "b")
        .update({"price": Decimal("1.00")})
        .where({"author": {"name": "Homer"}})
        .execute()
        == 1
    )
    assert (
        await _qb(em, Author, "a")
        .update({"born": None})
        .where({"books": {"tags": {"name": "poetry"}}})
        .execute()
        == 2
    )
    # joins, order and limit: the keys come from a subquery
    first = await (
        _qb(em, Author, "a")
        .update({"email": "first@x.io"})
        .join("a.books", "b")
        .where({"b.price": {"$gt": 1}})
        .order_by({"a.name": "asc"})
        .limit(1)
        .execute()
    )
    assert first == 1
    assert len(sql_log.writes()) == 5 and len(sql_log.statements) == 5
    rows = await orm.em.fork().find(Author, {}, order_by={"name": "asc"})
    assert [(a.name, a.age, a.email) for a in rows] == [
        ("Homer", None, "homer@troy.gr"),
        ("Jane Austen", 42, "first@x.io"),
        ("Jon Snow", 31, "jon@wall.st"),
        ("bob", 50, "bob@x.io"),
    ]
    iliad = await orm.em.fork().find_one_or_fail(Book, {"title": "Iliad"})
    assert iliad.price == Decimal("1.00")
    with pytest.raises(ValidationError, match="non-empty"):
        _qb(em, Author, "a").update({})


async def test_update_bypasses_unit_of_work(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    bob = await em.find_one_or_fail(Author, {"name": "bob"})
    await _qb(em, Author, "a").update({"age": 21}).where({"id": bob.id}).execute()
    assert bob.age == 20  # the loaded entity is not changed ...
    await em.refresh(bob)
    assert bob.age == 21  # ... until it is refreshed


async def test_delete(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm, em = await _setup(make_orm, sql_log)
    assert await _qb(em, Author, "a").delete().where({"name": "nobody"}).execute() == 0
    assert await _qb(em, Profile, "p").delete({"author": {"name": "Jon Snow"}}).execute() == 1
    assert (
        await _qb(em, Author, "a")
        .delete({"books": {"title": {"$exists": True}}, "age": 20})
        .execute()
        == 0
    )
    authors_without_books = (
        _qb(em, Author, "x").select("x.id").where({"$not": {"books": {"title": {"$like": "%"}}}})
    )
    assert (
        await _qb(em, Author, "a").delete().where({"id": {"$in": authors_without_books}}).execute()
        == 1
    )
    assert len(sql_log.statements) == 4
    remaining = await orm.em.fork().find(Author, {}, order_by={"name": "asc"})
    assert [a.name for a in remaining] == ["Homer", "Jane Austen", "Jon Snow"]


async def test_truncate(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm, em = await _setup(make_orm, sql_log)
    await _qb(em, Profile, "p").truncate().execute()
    assert len(sql_log.statements) == 1
    assert await orm.em.fork().count(Profile) == 0
    assert await orm.em.fork().count(Author) == 4


async def test_builder_runs_in_the_fork_transaction(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm, em = await _setup(make_orm, sql_log)
    with pytest.raises(RuntimeError):
        async with em.transaction():
            await _qb(em, Author, "a").update({"age": 1}).execute()
            assert await _qb(em, Author, "a").where({"age": 1}).get_count() == 4
            raise RuntimeError("roll back")
    assert await orm.em.fork().count(Author, {"age": 1}) == 0


# -- misuse --------------------------------------------------------------------------------------


async def test_misuse_is_a_validation_error_before_any_sql(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    _, em = await _setup(make_orm, sql_log)
    cases: list[tuple[Any, str]] = [
        (lambda: _qb(em, Author, "a").select("z.name").get_query(), "neither an alias"),
        (lambda: _qb(em, Author, "a").select("a.nme").get_query(), "no property 'nme'"),
        (lambda: _qb(em, Author, "a").select("median(a.age)"), "unknown aggregate"),
        (lambda: _qb(em, Author, "a").select("a.name; DROP TABLE author"), "cannot read"),
        (lambda: _qb(em, Author, "a").select("a.books").get_query(), "collection"),
        (lambda: _qb(em, Author, "a").select("sum(*)"), "count"),
        (lambda: _qb(em, Author, "a").select("a.name", "b.name as name").get_query(), "neither"),
        (lambda: _qb(em, Author, "a").select("a.name", "a.name").get_query(), "two columns"),
        (lambda: _qb(em, Author, "a").where("name = 'x'"), "never SQL"),
        (lambda: _qb(em, Author, "a").where({"nme": 1}).get_query(), "no property 'nme'"),
        (lambda: _qb(em, Author, "a").where({"$where": "1"}).get_query(), "unknown operator"),
        (lambda: _qb(em, Author, "a").where({"a": 1}).get_query(), "alias"),
        (lambda: _qb(em, Author, "a").group_by("a.name; --"), "cannot read"),
        (lambda: _qb(em, Author, "a").order_by({"a.name desc": "asc"}), "cannot read"),
        (
            lambda: _qb(em, Author, "a").having({"count(a.id)": {"$regex": 1}}).get_query(),
            "unknown operator",
        ),
        (lambda: _qb(em, Author, "a").delete().select("a.name"), "already a delete"),
        (
            lambda: _qb(em, Author, "a").select("a.name").distinct().delete().get_query(),
            "not select",
        ),
        (
            lambda: (
                _qb(em, Author, "a")
                .where({"name": {"$like": _qb(em, Author, "x").select("x.name")}})
                .get_query()
            ),
            "query-builder expression",
        ),
        (lambda: em.create_query_builder(Author, "e1"), "reserved"),
        (lambda: em.create_query_builder(Author, "a b"), "identifier"),
    ]
    for make, message in cases:
        with pytest.raises(ValidationError, match=message):
            make()
    with pytest.raises(ValidationError, match="whole entities"):
        await _qb(em, Author, "a").select("a.name").get_result_list()
    with pytest.raises(ValidationError, match="select queries"):
        await _qb(em, Author, "a").delete().get_count()
    assert sql_log.statements == []


async def test_default_alias(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    qb = em.create_query_builder(Author)
    assert qb.alias == "a"
    assert await qb.select("a.name").where({"a.name": "bob"}).execute() == [{"name": "bob"}]


async def test_parameters_of_every_python_type(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)
    rows = await (
        _qb(em, Book, "b")
        .select("b.author.name as name", "sum(b.price) as total")
        .group_by("b.author.name")
        .having({"total": {"$gt": Decimal("15")}})
        .order_by({"name": "asc"})
        .execute()
    )
    assert rows == [
        {"name": "Jane Austen", "total": Decimal("20.00")},
        {"name": "Jon Snow", "total": Decimal("15.50")},
    ]
    cheap = await (
        _qb(em, Book, "b")
        .select("b.title")
        .where(raw("b.price < :limit", {"limit": Decimal("7.5")}))
        .execute()
    )
    assert cheap == [{"title": "Wall"}]
    assert len(sql_log.statements) == 2


async def test_add_select_inner_join_and_having_add_order_by_clone(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    _, em = await _setup(make_orm, sql_log)
    base = (
        _qb(em, Author, "a")
        .select("a.name")
        .inner_join("a.books", "b")
        .group_by("a.name")
        .having({"count(b.id)": {"$gte": 1}})
        .order_by({"a.name": "desc"})
    )
    wider = base.clone().add_select("count(b.id) as n", "min(b.title) as first")
    wider.and_having({"count(b.id)": {"$lt": 2}}).add_order_by({"n": "asc"})
    assert await wider.execute() == [
        {"name": "Jane Austen", "n": 1, "first": "Emma"},
        {"name": "Homer", "n": 1, "first": "Iliad"},
    ]
    assert await base.execute() == [  # the clone left the original alone
        {"name": "Jon Snow"},
        {"name": "Jane Austen"},
        {"name": "Homer"},
    ]
    statement = base.get_statement()
    assert "GROUP BY" in str(statement) and base.type == "select"
    assert len(sql_log.statements) == 2
