"""Finders that see the unit of work, and PRUNE, on every database: rows and statements."""

from __future__ import annotations

from typing import Any

import pytest

from orm.core import ORM, PRUNE

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author, Book


async def _authors(orm: ORM) -> None:
    em = orm.em.fork()
    for name, age in (("Ann", 30), ("Bob", 40), ("Cid", 50)):
        em.persist(Author(name, f"{name.lower()}@x.io", age=age))
    await em.flush()


async def test_find_or_create_twice_in_one_fork_gives_one_row(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    first = await em.find_or_create(Author, {"email": "jon@wall.st"}, defaults={"name": "Jon"})
    assert sql_log.count("SELECT") == 1 and sql_log.writes() == []
    sql_log.clear()
    second = await em.find_or_create(Author, {"email": "jon@wall.st"}, defaults={"name": "J"})
    assert second is first and sql_log.statements == []  # the new entity answers
    await em.flush()
    assert sql_log.count("INSERT") == 1
    rows = await orm.em.fork().find(Author, {"email": "jon@wall.st"})
    assert [(a.name, a.id) for a in rows] == [("Jon", first.id)]


async def test_find_or_create_finds_flushed_rows(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm)
    em = orm.em.fork()
    sql_log.clear()
    bob = await em.find_or_create(Author, {"email": "bob@x.io"}, defaults={"name": "other"})
    assert bob.name == "Bob" and em.is_managed(bob)
    book = await em.find_or_create(Book, {"title": "Wall", "author": bob})
    again = await em.find_or_create(Book, {"title": "Wall", "author": bob.id})
    assert again is book and book.author is bob
    await em.flush()
    assert sql_log.count("SELECT") == 2  # one per entity; the second book call needs none
    assert sql_log.count("INSERT") == 1  # the book only
    fresh = orm.em.fork()
    assert await fresh.count(Author) == 3
    found = await fresh.find_or_create(Book, {"title": "Wall", "author": bob.id})
    assert found.id == book.id


async def test_find_with_new_or_changed_merges_the_fork(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm)
    em = orm.em.fork()
    ann, bob, cid = await em.find(Author, order_by={"name": "asc"})
    ann.age = 99  # no longer matches age < 45
    cid.age = 41  # now matches
    em.remove(bob)  # matches in the database, but goes with the next flush
    em.persist(Author("Abe", "abe@x.io", age=20))
    em.persist(Author("Old", "old@x.io", age=80))
    sql_log.clear()
    found = await em.find_with_new_or_changed(
        Author, {"age": {"$lt": 45}}, order_by={"name": "asc"}
    )
    assert [a.name for a in found] == ["Abe", "Cid"]
    assert sql_log.count("SELECT") == 1
    # What the database says right now is still what em.find returns.
    assert [
        a.name for a in await em.find(Author, {"age": {"$lt": 45}}, order_by={"name": "asc"})
    ] == [
        "Ann",
        "Bob",
    ]
    await em.flush()
    after = await orm.em.fork().find(Author, {"age": {"$lt": 45}}, order_by={"name": "asc"})
    assert [a.name for a in after] == ["Abe", "Cid"]


async def test_prune_drops_conditions(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm)
    em = orm.em.fork()

    async def listing(where: Any) -> tuple[list[str], str]:
        sql_log.clear()
        found = await em.find(Author, where, order_by={"name": "asc"})
        return [a.name for a in found], sql_log.of_kind("SELECT")[0]

    name: str | None = None
    min_age: int | None = 35
    pruned = await listing(
        {
            "name": name or PRUNE,
            "age": {"$gte": PRUNE if min_age is None else min_age, "$lt": PRUNE},
            "$or": [{"email": PRUNE}, {"books": {"title": PRUNE}}],
        }
    )
    plain = await listing({"age": {"$gte": 35}})
    assert pruned == plain  # the same rows, from the same statement
    assert pruned[0] == ["Bob", "Cid"]
    everything = await listing({"name": PRUNE, "$and": [{"age": PRUNE}]})
    assert everything == await listing(None)
    assert await em.count(Author, {"name": PRUNE, "age": {"$lt": 45}}) == 2


@pytest.mark.capability("sql")
async def test_prune_in_the_query_builder(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm)
    em = orm.em.fork()
    pruned = (
        em.create_query_builder(Author, "a")
        .select("*")
        .where({"name": PRUNE, "$or": [{"email": PRUNE}], "age": {"$gte": 35, "$lt": PRUNE}})
        .order_by({"a.name": "asc"})
    )
    plain = (
        em.create_query_builder(Author, "a")
        .select("*")
        .where({"age": {"$gte": 35}})
        .order_by({"a.name": "asc"})
    )
    assert pruned.get_query() == plain.get_query()
    assert [a.name for a in await pruned.get_result_list()] == ["Bob", "Cid"]
    grouped = (
        em.create_query_builder(Author, "a")
        .select(["a.age", "count(a.id) as n"])
        .group_by("a.age")
        .having({"count(a.id)": {"$gte": PRUNE}, "$or": [PRUNE]})
    )
    assert len(await grouped.execute()) == 3
