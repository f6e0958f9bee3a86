"""What is specific to MySQL/MariaDB: generated ids without RETURNING, DATETIME(6), upsert,
``$like`` case sensitivity, ordered deletes of self-referencing rows, schema updates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from orm.core import ORM, PrimaryKey, entity
from orm.core.driver import InsertBatch, UpsertBatch
from orm.core.errors import ValidationError

from ...compliance.models import LIBRARY, Author, Book, Category, Sample
from ...conftest import StatementLog
from .conftest import MakeMySql

# -- generated ids -------------------------------------------------------------------------


def _people(count: int) -> list[Author]:
    return [Author(f"p{i}", f"p{i}@x.io", age=i) for i in range(count)]


async def _assert_ids_match_rows(orm: ORM, authors: list[Author]) -> None:
    fresh = orm.em.fork()
    for author in authors:
        loaded = await fresh.find_one_or_fail(Author, author.id)
        assert (loaded.email, loaded.age) == (author.email, author.age)


async def test_without_returning_one_insert_reports_consecutive_ids(
    make_mysql: MakeMySql, sql_log: StatementLog
) -> None:
    """The MySQL 8 path, forced on MariaDB: LAST_INSERT_ID() of the first row + row count."""
    orm = await make_mysql(LIBRARY, returning=False, consecutive_insert_ids=True)
    assert not orm.driver.platform.returning
    em = orm.em.fork()
    authors = _people(5)
    em.persist(authors)
    sql_log.clear()
    await em.flush()
    (insert,) = sql_log.of_kind("INSERT")
    assert "RETURNING" not in insert.upper()
    ids = [a.id for a in authors]
    assert ids == list(range(ids[0], ids[0] + 5))
    await _assert_ids_match_rows(orm, authors)


async def test_without_consecutive_ids_rows_are_inserted_one_by_one(
    make_mysql: MakeMySql, sql_log: StatementLog
) -> None:
    """innodb_autoinc_lock_mode = 2 (MySQL 8's default): no guarantee, one INSERT per row."""
    orm = await make_mysql(LIBRARY, returning=False, consecutive_insert_ids=False)
    em = orm.em.fork()
    authors = _people(3)
    em.persist(authors)
    sql_log.clear()
    await em.flush()
    assert len(sql_log.of_kind("INSERT")) == 3
    await _assert_ids_match_rows(orm, authors)


async def test_ids_step_by_auto_increment_increment(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY, returning=False, consecutive_insert_ids=True)
    meta = orm.metadata[Author]
    props = tuple(meta.properties[name] for name in ("name", "email"))
    rows: list[dict[str, Any]] = [{"name": f"s{i}", "email": f"s{i}@x.io"} for i in range(3)]
    driver: Any = orm.driver
    async with orm.driver.acquire() as connection:
        await connection.execute("SET SESSION auto_increment_increment = 5")
        driver.auto_increment_step = 5
        try:
            generated = await connection.insert(
                InsertBatch(meta, props, rows, returning=(meta.properties["id"],))
            )
            stored = await connection.execute("SELECT id, email FROM author ORDER BY id")
        finally:
            driver.auto_increment_step = 1
            await connection.execute("SET SESSION auto_increment_increment = 1")
    ids = [g["id"] for g in generated]
    assert ids[1] - ids[0] == 5 and ids[2] - ids[1] == 5
    assert [(r["id"], r["email"]) for r in stored.rows] == [
        (i, row["email"]) for i, row in zip(ids, rows, strict=True)
    ]


@entity
class Ticket:
    id: int = PrimaryKey()


async def test_rows_with_only_a_generated_key(make_mysql: MakeMySql) -> None:
    for returning in (None, False):
        orm = await make_mysql([Ticket], returning=returning, consecutive_insert_ids=True)
        em = orm.em.fork()
        tickets = [Ticket() for _ in range(3)]
        em.persist(tickets)
        await em.flush()
        assert len({t.id for t in tickets}) == 3
        assert await orm.em.fork().count(Ticket) == 3


# -- types ---------------------------------------------------------------------------------


async def test_datetimes_keep_microseconds_and_are_stored_in_utc(make_mysql: MakeMySql) -> None:
    orm = await make_mysql([Sample])
    tehran = dt.timezone(dt.timedelta(hours=3, minutes=30))
    at = dt.datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=tehran)
    naive = dt.datetime(2024, 6, 1, 12, 0, 0, 999999)
    em = orm.em.fork()
    sample = Sample(at=at, naive_at=naive, clock=dt.time(1, 2, 3, 4))
    em.persist(sample)
    await em.flush()
    async with orm.driver.acquire() as connection:
        raw = (await connection.execute("SELECT at, naive_at FROM sample")).rows[0]
    assert raw["at"] == dt.datetime(2024, 6, 1, 8, 30, 0, 123456)  # UTC, no zone stored
    assert raw["naive_at"] == naive
    loaded = await orm.em.fork().find_one_or_fail(Sample, sample.id)
    assert loaded.at == at and loaded.at is not None and loaded.at.tzinfo is dt.UTC
    assert loaded.naive_at == naive and loaded.naive_at is not None
    assert loaded.naive_at.tzinfo is None
    assert loaded.clock == dt.time(1, 2, 3, 4)
    found = await orm.em.fork().find(Sample, {"at": {"$gte": at, "$lt": at + dt.timedelta(0, 1)}})
    assert [s.id for s in found] == [sample.id]


async def test_json_equality_and_contains(make_mysql: MakeMySql) -> None:
    orm = await make_mysql([Sample])
    em = orm.em.fork()
    first = Sample(data={"a": 1, "tags": ["x", "y"]}, items=[1, "two", {"k": 3}])
    second = Sample(data={"a": 2}, items=[4])
    em.persist([first, second])
    await em.flush()
    fork = orm.em.fork()

    async def ids(where: dict[str, Any]) -> list[Any]:
        return [s.id for s in await fork.find(Sample, where)]

    assert await ids({"data": {"tags": ["x", "y"], "a": 1}}) == [first.id]  # key order ignored
    assert await ids({"data": {"$ne": {"a": 2}}}) == [first.id]
    assert await ids({"items": {"$contains": "two"}}) == [first.id]
    assert await ids({"items": {"$contains": [4]}}) == [second.id]
    assert await ids({"data": {"$contains": {"tags": ["y"]}}}) == [first.id]


# -- $like ---------------------------------------------------------------------------------


async def _names(orm: ORM, where: dict[str, Any]) -> list[str]:
    return [a.name for a in await orm.em.fork().find(Author, where, order_by={"name": "asc"})]


async def _jon_and_jane(orm: ORM) -> None:
    em = orm.em.fork()
    em.persist([Author("Jon", "jon@x.io"), Author("jane", "jane@x.io")])
    await em.flush()


async def test_like_is_case_sensitive_and_ilike_is_not(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    await _jon_and_jane(orm)
    assert await _names(orm, {"name": {"$like": "J%"}}) == ["Jon"]
    assert await _names(orm, {"name": {"$ilike": "J%"}}) == ["Jon", "jane"]
    assert await _names(orm, {"name": {"$re": "^j"}}) == ["jane"]
    assert await _names(orm, {"name": "jon"}) == []  # the default collation is binary
    assert await _names(orm, {"name": {"$like": "J_n"}}) == ["Jon"]


async def test_like_stays_case_sensitive_under_a_case_insensitive_collation(
    make_mysql: MakeMySql, sql_log: StatementLog
) -> None:
    orm = await make_mysql(LIBRARY, collation="utf8mb4_unicode_ci")
    await _jon_and_jane(orm)
    assert await _names(orm, {"name": "jon"}) == ["Jon"]  # equality follows the collation
    sql_log.clear()
    assert await _names(orm, {"name": {"$like": "J%"}}) == ["Jon"]
    assert "COLLATE utf8mb4_bin" in sql_log.statements[-1]
    assert await _names(orm, {"name": {"$ilike": "J%"}}) == ["jane", "Jon"]
    assert await _names(orm, {"name": {"$re": "^J"}}) == ["Jon"]


async def test_nulls_first_and_last(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    em = orm.em.fork()
    em.persist(
        [Author("old", "o@x.io", age=80), Author("new", "n@x.io"), Author("kid", "k@x.io", age=9)]
    )
    await em.flush()
    fork = orm.em.fork()

    async def names(order: dict[str, str]) -> list[str]:
        return [a.name for a in await fork.find(Author, order_by=order)]

    assert await names({"age": "asc nulls last"}) == ["kid", "old", "new"]
    assert await names({"age": "desc nulls first"}) == ["new", "old", "kid"]
    assert await names({"age": "asc nulls first"}) == ["new", "kid", "old"]
    assert await names({"age": "desc nulls last"}) == ["old", "kid", "new"]


# -- upsert --------------------------------------------------------------------------------


def _upsert(orm: ORM, rows: list[dict[str, Any]], update: tuple[str, ...]) -> UpsertBatch:
    meta = orm.metadata[Author]
    return UpsertBatch(
        meta,
        tuple(meta.properties[n] for n in ("name", "email", "age")),
        rows,
        conflict=(meta.properties["email"],),
        update=tuple(meta.properties[n] for n in update),
        returning=tuple(meta.properties[n] for n in ("id", "name", "email", "age")),
    )


@pytest.mark.parametrize("returning", [None, False], ids=["returning", "reselect"])
async def test_upsert_inserts_or_updates_and_returns_rows_in_input_order(
    make_mysql: MakeMySql, sql_log: StatementLog, returning: bool | None
) -> None:
    orm = await make_mysql(LIBRARY, returning=returning)
    async with orm.driver.acquire() as connection:
        first = await connection.upsert(
            _upsert(
                orm,
                [
                    {"name": "A", "email": "a@x.io", "age": 1},
                    {"name": "B", "email": "b@x.io", "age": 2},
                ],
                ("name",),
            )
        )
        sql_log.clear()
        second = await connection.upsert(
            _upsert(
                orm,
                [
                    {"name": "C", "email": "c@x.io", "age": 3},
                    {"name": "B2", "email": "b@x.io", "age": 20},
                ],
                ("name",),
            )
        )
    assert "ON DUPLICATE KEY UPDATE" in sql_log.of_kind("INSERT")[0]
    assert len(sql_log.statements) == (1 if orm.driver.platform.returning else 2)
    a, b = first
    assert (a["name"], a["email"], a["age"]) == ("A", "a@x.io", 1)
    c, b2 = second
    assert c["name"] == "C" and c["id"] not in (a["id"], b["id"])
    assert (b2["id"], b2["name"], b2["age"]) == (b["id"], "B2", 2)  # only name was updated
    stored = await orm.em.fork().find_one_or_fail(Author, {"email": "b@x.io"})
    assert (stored.name, stored.age) == ("B2", 2)


async def test_upsert_without_update_keeps_the_existing_row(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY, returning=False)
    async with orm.driver.acquire() as connection:
        (created,) = await connection.upsert(
            _upsert(orm, [{"name": "A", "email": "a@x.io", "age": 1}], ())
        )
        (kept,) = await connection.upsert(
            _upsert(orm, [{"name": "Z", "email": "a@x.io", "age": 9}], ())
        )
    assert kept == created


async def test_upsert_needs_conflict_properties(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    batch = _upsert(orm, [{"name": "A", "email": "a@x.io", "age": 1}], ())
    batch.conflict = ()
    async with orm.driver.acquire() as connection:
        with pytest.raises(ValidationError, match="conflict"):
            await connection.upsert(batch)


# -- deletes -------------------------------------------------------------------------------


async def test_a_tree_of_self_referencing_rows_is_deleted_children_first(
    make_mysql: MakeMySql, sql_log: StatementLog
) -> None:
    orm = await make_mysql([Category])
    em = orm.em.fork()
    root = Category(name="root")
    children = [Category(name=f"child {i}", parent=root) for i in range(2)]
    grandchild = Category(name="grandchild", parent=children[0])
    em.persist([root, *children, grandchild])
    await em.flush()
    remover = orm.em.fork()
    for category in await remover.find(Category):
        remover.remove(category)
    sql_log.clear()
    await remover.flush()
    deletes = sql_log.of_kind("DELETE")
    assert len(deletes) == 3  # grandchild, then the children, then the root
    assert await orm.em.fork().count(Category) == 0


# -- schema --------------------------------------------------------------------------------


async def test_schema_update_adds_missing_tables_and_columns(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    async with orm.driver.acquire() as connection:
        await connection.execute("ALTER TABLE author DROP COLUMN born")
        await connection.execute("DROP TABLE profile")
        before = await connection.existing_columns()  # type: ignore[attr-defined]
    assert "born" not in before["author"] and "profile" not in before
    await orm.schema.update()
    async with orm.driver.acquire() as connection:
        after = await connection.existing_columns()  # type: ignore[attr-defined]
    assert "born" in after["author"] and "profile" in after
    em = orm.em.fork()
    author = Author("A", "a@x.io")
    author.books.add(Book(title="t"))
    em.persist(author)
    await em.flush()
