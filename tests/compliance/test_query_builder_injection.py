"""Hostile strings through every QueryBuilder method: values are always bound parameters.

Each hostile value must (1) never appear in the SQL text sent (the ``orm.sql`` log), and
(2) find the same rows as the plain ``em.find`` lookup. Hostile *identifiers* (where a
property, alias or key belongs) are a ValidationError before any SQL is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from orm.core import ORM, EntityManager, ValidationError
from orm.query_builder import QueryBuilder, exists, raw, ref

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author, Book, Sample

# The query builder and raw SQL: databases that speak SQL (Platform.sql).
pytestmark = pytest.mark.capability("sql")

HOSTILE = [
    "x' OR '1'='1",
    "'; DROP TABLE author; --",
    "Robert'); DELETE FROM book; --",
    "/* evil */ OR 1=1 /*",
    "-- evil comment\nOR 1=1",
    "$1 OR $2; DROP TABLE tag",
    "$where: {'$gt': ''}",
    "back\\slash\\' OR 1=1 --",
    '"double"; DROP TABLE "author"',
    "100% _wild_ %s %(name)s :name ? \\x00",
]


async def _setup(make_orm: MakeOrm, sql_log: StatementLog) -> tuple[ORM, EntityManager]:
    """One author per hostile string (named with it), each with a book titled with it."""
    orm = await make_orm([*LIBRARY, Sample])
    em = orm.em.fork()
    for index, text in enumerate(HOSTILE):
        author = Author(text, f"h{index}@x.io", age=index)
        em.persist(Book(title=text, author=author, publisher=None))
    plain = Author("Plain", "plain@x.io", age=99)
    em.persist(Book(title="Plain book", author=plain, publisher=None))
    await em.flush()
    sql_log.clear()
    return orm, orm.em.fork()


def _qb(em: EntityManager, entity: type[Any], alias: str) -> QueryBuilder[Any]:
    qb: QueryBuilder[Any] = em.create_query_builder(entity, alias)
    return qb


def _assert_bound(sql_log: StatementLog, text: str) -> None:
    assert sql_log.statements, "the builder sent no statement"
    for statement in sql_log.statements:
        assert text not in statement, f"{text!r} reached the SQL text: {statement}"


async def _for_each(sql_log: StatementLog, check: Callable[[str], Awaitable[None]]) -> None:
    for text in HOSTILE:
        sql_log.clear()
        await check(text)
        _assert_bound(sql_log, text)


async def _names(em: EntityManager, where: Any) -> list[str]:
    return sorted(a.name for a in await em.find(Author, where))


# -- reads ---------------------------------------------------------------------------------------


async def test_where_and_where_or_where(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)

    async def check(text: str) -> None:
        expected = await _names(em, {"name": text})
        assert len(expected) == 1
        sql_log.clear()
        found = await _qb(em, Author, "a").where({"name": text}).get_result_list()
        assert sorted(a.name for a in found) == expected
        qb = _qb(em, Author, "a").select("a.name").where({"a.name": {"$in": [text, "nobody"]}})
        assert text in qb.get_params() and text not in qb.get_query()
        assert sorted(r["name"] for r in await qb.execute()) == expected
        both = (
            _qb(em, Author, "a")
            .select("a.name")
            .where({"age": {"$gte": 0}})
            .and_where({"name": {"$ne": text}})
            .or_where({"$and": [{"name": text}]})
        )
        assert len(await both.execute()) == len(HOSTILE) + 1
        sql_log_like = await _names(em, {"name": {"$like": text}})
        like = (
            await _qb(em, Author, "a").select("a.name").where({"name": {"$like": text}}).execute()
        )
        assert sorted(r["name"] for r in like) == sql_log_like
        related = await _qb(em, Author, "a").where({"books": {"title": text}}).get_result_list()
        assert sorted(a.name for a in related) == expected

    await _for_each(sql_log, check)


async def test_raw_fragments_bind_their_parameters(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    _, em = await _setup(make_orm, sql_log)

    async def check(text: str) -> None:
        rows = await (
            _qb(em, Author, "a")
            .select("a.name", raw(":value", {"value": text}).as_("echo"))
            .where(raw("a.name = :name", {"name": text}))
            .execute()
        )
        assert rows == [{"name": text, "echo": text}]
        first = await (
            _qb(em, Author, "a")
            .select("a.name")
            .order_by(
                {raw("CASE WHEN a.name = :n THEN 0 ELSE 1 END", {"n": text}): "asc"},
                {"a.id": "asc"},
            )
            .execute("get")
        )
        assert first == {"name": text}
        bumped = await (
            _qb(em, Author, "a")
            .select(raw("a.age + :n as next", {"n": 1}))
            .where({"name": {"$eq": text}})
            .execute("get")
        )
        assert bumped == {"next": HOSTILE.index(text) + 1}

    await _for_each(sql_log, check)


async def test_join_conditions(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)

    async def check(text: str) -> None:
        rows = await (
            _qb(em, Author, "a")
            .select("a.name", "b.title")
            .left_join("a.books", "b", {"title": text})
            .where({"b.id": {"$ne": None}})
            .execute()
        )
        assert rows == [{"name": text, "title": text}]
        authors = await (
            _qb(em, Author, "a")
            .left_join_and_select("a.books", "b", {"b.title": {"$in": [text]}})
            .where({"name": {"$in": [text, "Plain"]}})
            .order_by({"a.id": "asc"})
            .get_result_list()
        )
        assert [(a.name, [b.title for b in a.books]) for a in authors] == [
            (text, [text]),
            ("Plain", []),
        ]
        books = await (
            _qb(em, Book, "b")
            .join_and_select("b.author", "a", raw("a.name = :n", {"n": text}))
            .get_result_list()
        )
        assert [(b.title, b.author.name) for b in books] == [(text, text)]

    await _for_each(sql_log, check)


async def test_group_by_having(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)

    async def check(text: str) -> None:
        rows = await (
            _qb(em, Author, "a")
            .select("a.name", "count(b.id) as books", "max(b.title) as last")
            .left_join("a.books", "b")
            .group_by("a.name")
            .having({"a.name": text})
            .or_having({"max(b.title)": {"$in": [text]}})
            .execute()
        )
        assert rows == [{"name": text, "books": 1, "last": text}]
        counted = await (
            _qb(em, Author, "a")
            .left_join("a.books", "b")
            .group_by("a.id")
            .having({"max(b.title)": text})
            .get_count()
        )
        assert counted == 1

    await _for_each(sql_log, check)


async def test_subqueries(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)

    async def check(text: str) -> None:
        expected = await _names(em, {"books": {"title": text}})
        sql_log.clear()
        sub = _qb(em, Book, "b").select("b.author").where({"title": text})
        found = await _qb(em, Author, "a").where({"id": {"$in": sub}}).get_result_list()
        assert sorted(a.name for a in found) == expected
        correlated = _qb(em, Book, "b").where({"author": ref("a.id"), "title": text})
        rows = await _qb(em, Author, "a").select("a.name").where(exists(correlated)).execute()
        assert sorted(r["name"] for r in rows) == expected
        titles = (
            _qb(em, Book, "b")
            .select("max(b.title)")
            .where({"author": ref("a.id"), "title": {"$ne": text}})
        )
        column = await (
            _qb(em, Author, "a")
            .select("a.name", titles.as_("other"))
            .where({"name": text})
            .execute("get")
        )
        assert column == {"name": text, "other": None}

    await _for_each(sql_log, check)


async def test_counts_and_single_results(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    _, em = await _setup(make_orm, sql_log)

    async def check(text: str) -> None:
        assert await _qb(em, Author, "a").where({"name": text}).get_count() == 1
        assert await _qb(em, Book, "b").count("b.title").where({"title": text}).execute("get") == {
            "count": 1
        }
        single = await _qb(em, Author, "a").where({"name": {"$eq": text}}).get_single_result()
        assert single is not None and single.name == text
        page, total = await (
            _qb(em, Author, "a")
            .join_and_select("a.books", "b")
            .where({"b.title": text})
            .limit(5)
            .get_result_and_count()
        )
        assert [a.name for a in page] == [text] and total == 1

    await _for_each(sql_log, check)


# -- writes --------------------------------------------------------------------------------------


async def test_insert_update_delete(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm, em = await _setup(make_orm, sql_log)

    async def check(text: str) -> None:
        index = HOSTILE.index(text)
        inserted = (
            await _qb(em, Author, "a")
            .insert(
                [{"name": text + "!", "email": f"new{index}@x.io"}, {"name": "n", "email": text}]
            )
            .execute()
        )
        assert inserted == 2
        fresh = orm.em.fork()
        assert await _names(fresh, {"name": text + "!"}) == [text + "!"]
        assert await _names(fresh, {"email": text}) == ["n"]
        updated = await (
            _qb(em, Author, "a")
            .update({"name": text + "?", "email": text + "?"})
            .where({"email": text})
            .execute()
        )
        assert updated == 1
        assert await _names(orm.em.fork(), {"email": text + "?"}) == [text + "?"]
        joined = await (
            _qb(em, Book, "b")
            .update({"title": text + "#"})
            .join("b.author", "a")
            .where({"a.name": text})
            .execute()
        )
        assert joined == 1
        assert [b.title for b in await orm.em.fork().find(Book, {"author": {"name": text}})] == [
            text + "#"
        ]
        deleted = (
            await _qb(em, Author, "a")
            .delete()
            .where({"name": {"$in": [text + "!", text + "?"]}})
            .execute()
        )
        assert deleted == 2
        assert await _names(orm.em.fork(), {"name": {"$in": [text + "!", text + "?"]}}) == []

    await _for_each(sql_log, check)


async def test_dollar_keys_are_data_in_values_and_errors_in_filters(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm, em = await _setup(make_orm, sql_log)

    async def check(text: str) -> None:
        data = {"$where": text, "$gt": [text], "nested": {"$ne": text}}
        await _qb(em, Sample, "s").insert({"text": text, "data": data, "items": [text]}).execute()
        stored = await orm.em.fork().find_one_or_fail(Sample, {"text": text})
        assert stored.data == data and stored.items == [text]
        await _qb(em, Sample, "s").update({"data": {"$or": text}}).where({"text": text}).execute()
        again = await orm.em.fork().find_one_or_fail(Sample, {"text": text})
        assert again.data == {"$or": text}
        with pytest.raises(ValidationError, match="operator"):
            _qb(em, Sample, "s").where({"text": {"$where": text}}).get_query()
        with pytest.raises(ValidationError, match="operator"):
            _qb(em, Sample, "s").where({"$where": text}).get_query()

    await _for_each(sql_log, check)


# -- hostile identifiers -----------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_identifiers_are_rejected_before_any_sql(
    make_orm: MakeOrm, sql_log: StatementLog, text: str
) -> None:
    _, em = await _setup(make_orm, sql_log)
    attempts: list[Callable[[], Any]] = [
        lambda: _qb(em, Author, "a").select(text).get_query(),
        lambda: _qb(em, Author, "a").select(f"a.name as {text}").get_query(),
        lambda: _qb(em, Author, "a").select(f"count({text})").get_query(),
        lambda: _qb(em, Author, "a").group_by(text).get_query(),
        lambda: _qb(em, Author, "a").order_by({text: "asc"}).get_query(),
        lambda: _qb(em, Author, "a").order_by({"a.name": text}).get_query(),
        lambda: _qb(em, Author, "a").where({text: 1}).get_query(),
        lambda: _qb(em, Author, "a").where({f"a.{text}": 1}).get_query(),
        lambda: _qb(em, Author, "a").where(text).get_query(),
        lambda: _qb(em, Author, "a").having({text: 1}).get_query(),
        lambda: _qb(em, Author, "a").join(text, "b").get_query(),
        lambda: _qb(em, Author, "a").join("a.books", text).get_query(),
        lambda: em.create_query_builder(Author, text),
        lambda: _qb(em, Author, "a").insert({text: 1}).get_query(),
        lambda: _qb(em, Author, "a").update({text: 1}).get_query(),
        lambda: raw("a.name = :v", {text: 1}),
        lambda: ref(text),
        lambda: _qb(em, Author, "a").select("a.name", _qb(em, Book, "b").as_(text)),
        lambda: _qb(em, Author, "a").count(text),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError):
            attempt()
    assert sql_log.statements == []


async def test_add_select_inner_join_and_having_add_order_by(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    _, em = await _setup(make_orm, sql_log)

    async def check(text: str) -> None:
        rows = await (
            _qb(em, Author, "a")
            .select("a.name")
            .add_select(raw(":t as echo", {"t": text}))
            .inner_join("a.books", "b", {"title": text})
            .group_by("a.name")
            .having({"a.name": {"$ne": "Plain"}})
            .and_having({"max(b.title)": {"$eq": text}})
            .order_by({"a.name": "asc"})
            .add_order_by({raw("max(b.title) = :t", {"t": text}): "desc"})
            .execute()
        )
        assert rows == [{"name": text, "echo": text}]

    await _for_each(sql_log, check)


@pytest.mark.parametrize(
    "strategy",
    [
        "select-in",
        "joined",
        pytest.param("json-aggregate", marks=pytest.mark.capability("json_aggregate_loading")),
    ],
)
async def test_hostile_strings_in_populate_where_are_bound(
    make_orm: MakeOrm, sql_log: StatementLog, strategy: str
) -> None:
    orm, em = await _setup(make_orm, sql_log)
    for text in HOSTILE:
        em = orm.em.fork()
        sql_log.clear()
        found = await em.find(
            Author,
            {"name": text},
            populate=["books"],
            populate_where={"books": {"title": text}},
            strategy=strategy,
        )
        _assert_bound(sql_log, text)
        assert [[b.title for b in a.books] for a in found] == [[text]]
