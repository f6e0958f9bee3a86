"""Loading strategies: select-in, joined, json-aggregate; populate_where and populate_order_by.

Every strategy must give the same entities as select-in; the tests check the rows and the
number of statements each one sends.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orm.core import ORM, EntityStateError, LoadStrategy, NotLoadedError, ValidationError

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import (
    LIBRARY,
    Author,
    Book,
    Category,
    Course,
    Enrollment,
    Profile,
    Publisher,
    Student,
    Tag,
)

ONE_STATEMENT = [
    pytest.param("joined", marks=pytest.mark.capability("joined_loading")),
    pytest.param("json-aggregate", marks=pytest.mark.capability("json_aggregate_loading")),
]


async def _seed(orm: ORM) -> None:
    """Three authors: two books each (with tags and a publisher on the first), one with none."""
    em = orm.em.fork()
    penguin = Publisher(name="Penguin")
    fiction, poetry, essays = Tag(name="fiction"), Tag(name="poetry"), Tag(name="essays")
    for index, name in enumerate(["Ann", "Bob", "Cy"]):
        author = Author(name, f"{name.lower()}@x.io", age=30 + index)
        if index != 1:
            author.profile = Profile(bio=f"bio of {name}")
        if index < 2:
            first = Book(title=f"{name} one", publisher=penguin, price=Decimal("9.50"))
            first.tags.add(fiction, poetry)
            second = Book(title=f"{name} two", price=None)
            second.tags.add(essays)
            author.books.add(first, second)
        em.persist(author)
    await em.flush()


def _shape(authors: list[Author]) -> list[Any]:
    """Everything the populate below loads, as plain values."""
    return [
        (
            a.name,
            None if a.profile is None else a.profile.bio,
            [
                (
                    b.title,
                    b.price,
                    None if b.publisher is None else b.publisher.name,
                    sorted(t.name for t in b.tags),
                )
                for b in a.books
            ],
        )
        for a in authors
    ]


# Three levels (authors -> books -> tags), plus a to-one and an inverse one-to-one.
PATHS = ["books.tags", "books.publisher", "profile"]


@pytest.mark.parametrize("strategy", ONE_STATEMENT)
async def test_one_statement_loads_the_same_graph_as_select_in(
    make_orm: MakeOrm, sql_log: StatementLog, strategy: str
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    expected = _shape(await orm.em.fork().find(Author, populate=PATHS, order_by={"name": "asc"}))
    em = orm.em.fork()
    sql_log.clear()
    authors = await em.find(Author, populate=PATHS, order_by={"name": "asc"}, strategy=strategy)
    assert len(sql_log.statements) == 1
    assert _shape(authors) == expected
    assert expected[0][2][0] == ("Ann one", Decimal("9.50"), "Penguin", ["fiction", "poetry"])
    assert expected[1][1] is None and expected[2][2] == []
    # One object per row: the publisher both authors' first books share, the tags.
    assert authors[0].books[0].publisher is authors[1].books[0].publisher
    assert authors[0].books[0].tags[0] is authors[1].books[0].tags[0]
    assert len(sql_log.statements) == 1  # nothing was loaded lazily


@pytest.mark.parametrize("strategy", ONE_STATEMENT)
async def test_limit_and_offset_count_root_entities(
    make_orm: MakeOrm, sql_log: StatementLog, strategy: str
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    em = orm.em.fork()
    sql_log.clear()
    page = await em.find(
        Author,
        populate=["books.tags"],
        order_by={"name": "desc"},
        limit=2,
        offset=1,
        strategy=strategy,
    )
    assert len(sql_log.statements) == 1
    assert [a.name for a in page] == ["Bob", "Ann"]
    assert [[b.title for b in a.books] for a in page] == [
        ["Bob one", "Bob two"],
        ["Ann one", "Ann two"],
    ]


@pytest.mark.parametrize("strategy", ONE_STATEMENT)
async def test_filters_through_relations_and_order_through_to_one(
    make_orm: MakeOrm, sql_log: StatementLog, strategy: str
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    em = orm.em.fork()
    sql_log.clear()
    books = await em.find(
        Book,
        {"tags": {"name": "essays"}, "author": {"age": {"$lte": 31}}},
        populate=["author.profile", "tags"],
        order_by={"author": {"name": "desc"}},
        limit=5,
        strategy=strategy,
    )
    assert len(sql_log.statements) == 1
    assert [(b.title, b.author.name) for b in books] == [("Bob two", "Bob"), ("Ann two", "Ann")]
    assert books[0].author.profile is None
    assert books[1].author.profile is not None and books[1].author.profile.bio == "bio of Ann"
    assert [[t.name for t in b.tags] for b in books] == [["essays"], ["essays"]]


@pytest.mark.parametrize("strategy", ["select-in", *ONE_STATEMENT])
async def test_populate_where_and_order_by_shape_the_collections(
    make_orm: MakeOrm, sql_log: StatementLog, strategy: str
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    em = orm.em.fork()
    sql_log.clear()
    authors = await em.find(
        Author,
        {"name": {"$in": ["Ann", "Bob"]}},
        populate=["books.tags"],
        populate_where={
            "books": {"price": {"$ne": None}},
            "books.tags": {"name": {"$ne": "poetry"}},
        },
        populate_order_by={"books.tags": {"name": "desc"}},
        order_by={"name": "asc"},
        strategy=strategy,
    )
    assert len(sql_log.statements) == (3 if strategy == "select-in" else 1)
    assert [[(b.title, [t.name for t in b.tags]) for b in a.books] for a in authors] == [
        [("Ann one", ["fiction"])],
        [("Bob one", ["fiction"])],
    ]
    books = authors[0].books
    assert books.is_filtered
    with pytest.raises(EntityStateError, match="populate_where"):
        books.set([])
    # load() reads the whole collection again.
    assert [b.title for b in await books.load()] == ["Ann one", "Ann two"]
    assert not books.is_filtered


async def test_populate_order_by_without_a_filter_orders_the_whole_collection(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    em = orm.em.fork()
    ann = await em.find_one_or_fail(
        Author, {"name": "Ann"}, populate=["books"], populate_order_by={"books": {"title": "desc"}}
    )
    assert [b.title for b in ann.books] == ["Ann two", "Ann one"]
    assert not ann.books.is_filtered
    # A later populate asking for another view reads the collection again.
    again = await em.find_one_or_fail(Author, {"name": "Ann"}, populate=["books"])
    assert again is ann
    assert [b.title for b in ann.books] == ["Ann one", "Ann two"]


@pytest.mark.parametrize("strategy", ONE_STATEMENT)
async def test_loaded_entities_and_unflushed_changes_are_kept(
    make_orm: MakeOrm, strategy: str
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    em = orm.em.fork()
    ann = await em.find_one_or_fail(Author, {"name": "Ann"}, populate=["books"])
    ann.name = "Ann (edited)"
    extra = Book(title="Ann three")
    ann.books.add(extra)
    authors = await em.find(Author, {"age": 30}, populate=["books.tags"], strategy=strategy)
    assert authors == [ann]
    assert ann.name == "Ann (edited)"  # a row never overwrites a loaded entity
    assert [b.title for b in ann.books] == ["Ann one", "Ann two", "Ann three"]
    assert [t.name for t in ann.books[0].tags] == ["fiction", "poetry"]
    await em.flush()
    fresh = await orm.em.fork().find_one_or_fail(
        Author, {"name": "Ann (edited)"}, populate=["books"]
    )
    assert len(fresh.books) == 3


@pytest.mark.parametrize("strategy", ONE_STATEMENT)
async def test_self_reference_and_partial_root(
    make_orm: MakeOrm, sql_log: StatementLog, strategy: str
) -> None:
    orm = await make_orm([Category])
    em = orm.em.fork()
    root = Category(name="root")
    for name in ("b", "a"):
        child = Category(name=name, parent=root)
        Category(name=f"{name}-leaf", parent=child)
    em.persist(root)
    await em.flush()
    em = orm.em.fork()
    sql_log.clear()
    found = await em.find(
        Category,
        {"parent": None},
        populate=["children.children"],
        populate_order_by={"children": {"name": "asc"}},
        fields=["name"],
        strategy=strategy,
    )
    assert len(sql_log.statements) == 1
    assert [(c.name, [g.name for g in c.children]) for c in found[0].children] == [
        ("a", ["a-leaf"]),
        ("b", ["b-leaf"]),
    ]


@pytest.mark.capability("joined_loading")
async def test_find_one_by_key_with_joined_is_one_statement(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    key = (await orm.em.fork().find_one_or_fail(Author, {"name": "Bob"})).id
    em = orm.em.fork()
    sql_log.clear()
    bob = await em.find_one_or_fail(
        Author, key, populate=["books.tags", "profile"], strategy="joined"
    )
    assert len(sql_log.statements) == 1
    assert [len(b.tags) for b in bob.books] == [2, 1]
    assert bob.profile is None


@pytest.mark.capability("joined_loading")
async def test_config_default_strategy(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY, load_strategy="joined")
    await _seed(orm)
    sql_log.clear()
    authors = await orm.em.fork().find(Author, populate=["books.tags"])
    assert len(sql_log.statements) == 1
    assert sorted(len(a.books) for a in authors) == [0, 2, 2]
    sql_log.clear()
    await orm.em.fork().find(Author, populate=["books.tags"], strategy=LoadStrategy.SELECT_IN)
    assert len(sql_log.statements) == 3


async def test_bad_options_are_clear_errors(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    with pytest.raises(ValidationError, match="strategy='lazy' is not a loading strategy"):
        await em.find(Author, populate=["books"], strategy="lazy")
    with pytest.raises(ValidationError, match="'tags' is not populated by this query"):
        await em.find(Author, populate=["books"], populate_where={"tags": {}})
    with pytest.raises(ValidationError, match=r"Book\.author is a to-one relation"):
        await em.find(Book, populate=["author"], populate_where={"author": {"age": 3}})
    with pytest.raises(ValidationError, match="Book has no property 'nope'"):
        await em.find(Author, populate=["books"], populate_where={"books": {"nope": 1}})
    if not orm.driver.platform.json_aggregate_loading:
        with pytest.raises(ValidationError, match="not available on"):
            await em.find(Author, populate=["books"], strategy="json-aggregate")


@pytest.mark.capability("joined_loading")
async def test_unpopulated_relations_stay_unloaded(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    em = orm.em.fork()
    books = await em.find(Book, {"title": "Ann one"}, populate=["tags"], strategy="joined")
    with pytest.raises(NotLoadedError):
        _ = books[0].author.name


@pytest.mark.capability("composite_keys")
@pytest.mark.parametrize("strategy", ONE_STATEMENT)
async def test_composite_keys_made_of_relations(
    make_orm: MakeOrm, sql_log: StatementLog, strategy: str
) -> None:
    orm = await make_orm([Student, Course, Enrollment])
    em = orm.em.fork()
    ada, bob = Student(name="Ada"), Student(name="Bob")
    maths = Course(title="Maths")
    em.persist(
        [
            Enrollment(student=ada, course=maths, year=2024, grade="A"),
            Enrollment(student=ada, course=maths, year=2025),
            Enrollment(student=bob, course=maths, year=2025, grade="B"),
        ]
    )
    await em.flush()
    em = orm.em.fork()
    sql_log.clear()
    found = await em.find(
        Enrollment,
        {"course": {"title": "Maths"}},
        populate=["student", "course"],
        order_by={"student": {"name": "desc"}, "year": "asc"},
        limit=2,
        strategy=strategy,
    )
    assert len(sql_log.statements) == 1
    assert [(e.student.name, e.course.title, e.year, e.grade) for e in found] == [
        ("Bob", "Maths", 2025, "B"),
        ("Ada", "Maths", 2024, "A"),
    ]
    assert found[0].course is found[1].course
