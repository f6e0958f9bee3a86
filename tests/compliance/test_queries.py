"""The filter language against a real database, options of find, repositories, create/assign."""

from __future__ import annotations

from typing import Any

import pytest

from orm.core import ORM, ValidationError

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author, AuthorRepository, Book, Publisher, Sample, Tag


async def _library(orm: ORM) -> None:
    em = orm.em.fork()
    penguin = Publisher(name="Penguin")
    tags = {name: Tag(name=name) for name in ("fiction", "poetry", "history")}
    rows: list[tuple[str, str, int | None, list[tuple[str, list[str]]]]] = [
        ("Jon Snow", "jon@wall.st", 30, [("Winter", ["fiction"]), ("Wall", ["history"])]),
        ("Jane Austen", "jane@bath.uk", 41, [("Emma", ["fiction", "poetry"])]),
        ("Homer", "homer@troy.gr", None, [("Iliad", ["poetry", "history"])]),
        ("bob", "bob@x.io", 20, []),
    ]
    for name, email, age, books in rows:
        author = Author(name, email, age=age)
        for title, tag_names in books:
            book = Book(title=title, publisher=penguin if title != "Iliad" else None)
            book.tags.add(*(tags[t] for t in tag_names))
            author.books.add(book)
        em.persist(author)
    await em.flush()


async def _names(orm: ORM, where: Any, **options: Any) -> list[str]:
    found = await orm.em.fork().find(Author, where, order_by={"name": "asc"}, **options)
    return [a.name for a in found]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"name": "Homer"}, ["Homer"]),
        ({"age": {"$gte": 30}}, ["Jane Austen", "Jon Snow"]),
        ({"age": {"$gt": 20, "$lt": 41}}, ["Jon Snow"]),
        ({"age": {"$lte": 20}}, ["bob"]),
        ({"age": None}, ["Homer"]),
        ({"age": {"$ne": None}}, ["Jane Austen", "Jon Snow", "bob"]),
        ({"age": {"$ne": 30}}, ["Homer", "Jane Austen", "bob"]),  # NULL counts as "not 30"
        ({"age": {"$in": [20, 41]}}, ["Jane Austen", "bob"]),
        ({"age": [20, 41]}, ["Jane Austen", "bob"]),
        ({"age": {"$nin": [20, 41]}}, ["Homer", "Jon Snow"]),
        ({"age": {"$in": []}}, []),
        ({"age": {"$exists": False}}, ["Homer"]),
        ({"name": {"$like": "J%"}}, ["Jane Austen", "Jon Snow"]),
        ({"name": {"$like": "j%"}}, []),  # $like is case-sensitive
        ({"name": {"$ilike": "j%"}}, ["Jane Austen", "Jon Snow"]),
        ({"name": {"$re": "^[HJ]o"}}, ["Homer", "Jon Snow"]),
        ({"$or": [{"name": "bob"}, {"age": 41}]}, ["Jane Austen", "bob"]),
        ({"$and": [{"age": {"$gt": 10}}, {"age": {"$lt": 35}}]}, ["Jon Snow", "bob"]),
        ({"$not": {"name": {"$like": "J%"}}}, ["Homer", "bob"]),
        ({"name": {"$not": {"$eq": "bob"}}}, ["Homer", "Jane Austen", "Jon Snow"]),
        ({"books": {"title": "Emma"}}, ["Jane Austen"]),
        ({"books": {"tags": {"name": "poetry"}}}, ["Homer", "Jane Austen"]),
        ({"books": {"publisher": {"name": "Penguin"}}}, ["Jane Austen", "Jon Snow"]),
        ({"books": {"title": "Emma", "tags": {"name": "history"}}}, []),
        ({"$not": {"books": {"title": {"$like": "%"}}}}, ["bob"]),
    ],
)
async def test_filter_operators(make_orm: MakeOrm, where: Any, expected: list[str]) -> None:
    orm = await make_orm(LIBRARY)
    await _library(orm)
    assert await _names(orm, where) == expected


async def test_filter_through_many_to_one_join(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    await _library(orm)
    em = orm.em.fork()
    sql_log.clear()
    books = await em.find(Book, {"author": {"name": {"$like": "J%"}}}, order_by={"title": "asc"})
    assert [b.title for b in books] == ["Emma", "Wall", "Winter"]
    assert sql_log.count("SELECT") == 1
    if orm.driver.platform.sql:
        assert "JOIN" in sql_log.statements[0].upper()
    else:
        assert "$lookup" in sql_log.statements[0]
    jon = await em.find_one_or_fail(Author, {"email": "jon@wall.st"})
    assert [b.title for b in await em.find(Book, {"author": jon}, order_by={"title": "asc"})] == [
        "Wall",
        "Winter",
    ]
    assert len(await em.find(Book, {"author": jon.id})) == 2
    assert len(await em.find(Book, {"author": {"$in": [jon, jon.id]}})) == 2
    assert [b.title for b in await em.find(Book, {"publisher": None})] == ["Iliad"]


async def test_order_by_relation_and_pagination(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _library(orm)
    em = orm.em.fork()
    books = await em.find(Book, order_by={"author": {"name": "desc"}, "title": "asc"})
    assert [b.title for b in books] == ["Wall", "Winter", "Emma", "Iliad"]
    page = await em.find(Book, order_by={"title": "asc"}, limit=2, offset=1)
    assert [b.title for b in page] == ["Iliad", "Wall"]
    found, total = await em.find_and_count(
        Author, {"age": {"$ne": None}}, limit=1, order_by={"age": "desc"}
    )
    assert [a.name for a in found] == ["Jane Austen"] and total == 3
    assert await em.count(Author) == 4
    assert await em.count(Author, {"books": {"tags": {"name": "fiction"}}}) == 2
    paged = await em.find(Author, {"books": {"title": {"$like": "W%"}}}, limit=5)
    assert [a.name for a in paged] == ["Jon Snow"]  # a to-many filter never repeats roots


async def test_invalid_filters_fail_before_any_sql(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    cases: list[tuple[Any, str]] = [
        ({"nmae": "x"}, "Author has no property 'nmae'"),
        ({"name": {"$regex": "x"}}, "unknown operator '\\$regex'"),
        ({"name": {"$eq": {"$in": ["x"]}}}, "operator\\(s\\) \\$in where a value belongs"),
        ({"age": {"$in": 5}}, "takes a list"),
        ({"age": {"$like": "5%"}}, "takes a str pattern|applies to str"),
        ({"age": "thirty"}, "expected an int"),
        ({"books": {"nope": 1}}, "Book has no property 'nope'"),
        ({"$or": {"name": "x"}}, "takes a list"),
        ({"$xor": []}, "unknown operator"),
    ]
    for where, message in cases:
        with pytest.raises(ValidationError, match=message):
            await em.find(Author, where)
    with pytest.raises(ValidationError, match="direction"):
        await em.find(Author, order_by={"name": "up"})
    with pytest.raises(ValidationError, match="non-negative"):
        await em.find(Author, limit=-1)
    assert sql_log.statements == []


async def test_json_contains(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    em = orm.em.fork()
    em.persist(
        [Sample(text="a", items=["x", "y"]), Sample(text="b", items=["y", 3]), Sample(text="c")]
    )
    await em.flush()
    found = await orm.em.fork().find(
        Sample, {"items": {"$contains": "y"}}, order_by={"text": "asc"}
    )
    assert [s.text for s in found] == ["a", "b"]
    found = await orm.em.fork().find(Sample, {"items": {"$contains": 3}})
    assert [s.text for s in found] == ["b"]


async def test_custom_repository(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _library(orm)
    em = orm.em.fork()
    repository = em.get_repository(Author)
    assert isinstance(repository, AuthorRepository)
    homer = await repository.find_by_email("homer@troy.gr")
    assert homer is not None and homer.name == "Homer"
    assert await repository.count({"age": None}) == 1
    assert len(await repository.find_all(limit=2)) == 2
    books = em.get_repository(Book)
    assert await books.count() == 4


async def test_create_and_assign_from_dicts(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    author = em.create(
        Author,
        {"name": "Made", "email": "made@x.io", "books": [{"title": "One"}, {"title": "Two"}]},
    )
    await em.flush()
    assert author.id is not None and len(author.books) == 2
    with pytest.raises(ValidationError, match="no property 'nickname'"):
        em.create(Author, {"name": "x", "nickname": "y"})
    em.assign(author, {"age": 50, "name": "Renamed"})
    book = em.create(Book, {"title": "Three", "author": author.id})
    assert book.author is author
    await em.flush()
    loaded = await orm.em.fork().find_one_or_fail(Author, author.id, populate=["books"])
    assert loaded.age == 50 and loaded.name == "Renamed"
    assert sorted(b.title for b in loaded.books) == ["One", "Three", "Two"]


@pytest.mark.capability("native_upsert")
async def test_upsert_inserts_then_updates(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    first = await em.upsert(Author, {"email": "up@x.io", "name": "First"})
    assert first.id is not None and first.name == "First"
    second = await em.upsert(Author, {"email": "up@x.io", "name": "Second"})
    assert second is first and first.name == "Second"
    assert sql_log.count("INSERT") == 2
    many = await em.upsert_many(
        Author, [{"email": "new@x.io", "name": "New"}, {"email": "up@x.io", "name": "Third"}]
    )
    assert [a.name for a in many] == ["New", "Third"] and many[1] is first
    rows = await orm.em.fork().find(Author, order_by={"email": "asc"})
    assert [(a.email, a.name) for a in rows] == [("new@x.io", "New"), ("up@x.io", "Third")]
    with pytest.raises(ValidationError, match="on_conflict"):
        await em.upsert(Author, {"name": "no key"})
