"""PostgreSQL column types, time zones, jsonb operators, batch shapes, schema helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from orm.core import ORM, DriverError, PrimaryKey, Property, entity
from orm.postgres import PostgresConnection

from ...compliance.models import (
    LIBRARY,
    Author,
    Course,
    Enrollment,
    Sample,
    Student,
)
from ...conftest import StatementLog
from .conftest import MakePg


async def test_columns_have_native_types(make_pg: MakePg) -> None:
    orm = await make_pg([Sample])
    result = await orm.em.fork().execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'sample'"
    )
    types = {row["column_name"]: row["data_type"] for row in result.rows}
    assert types == {
        "id": "uuid",
        "count": "integer",
        "text": "character varying",
        "ratio": "double precision",
        "flag": "boolean",
        "amount": "numeric",
        "at": "timestamp with time zone",
        "naive_at": "timestamp without time zone",
        "day": "date",
        "clock": "time without time zone",
        "token": "uuid",
        "blob": "bytea",
        "color": "character varying",
        "priority": "integer",
        "data": "jsonb",
        "items": "jsonb",
    }
    ddl = "\n".join(await orm.schema.create_sql())
    assert "NUMERIC(12, 4)" in ddl
    assert "CONSTRAINT ck_sample_color CHECK (color IN ('red', 'green', 'blue'))" in ddl


async def _written(orm: ORM, values: dict[str, Any]) -> dict[str, Any]:
    em = orm.em.fork()
    sample = em.create(Sample, values)
    await em.flush()
    result = await orm.em.fork().execute(
        "SELECT at::text AS at, naive_at::text AS naive_at FROM sample WHERE id = :id",
        {"id": sample.id},
    )
    loaded = await orm.em.fork().find_one_or_fail(Sample, sample.id)
    return {"stored": result.rows[0], "at": loaded.at, "naive_at": loaded.naive_at}


async def test_timestamptz_keeps_the_instant_whatever_the_session_zone(make_pg: MakePg) -> None:
    orm = await make_pg([Sample], server_settings={"timezone": "America/New_York"})
    aware = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    got = await _written(orm, {"at": aware})
    assert got["at"] == aware
    assert got["at"].utcoffset() == dt.timedelta(0)  # asyncpg returns UTC
    assert got["stored"]["at"] == "2024-06-30 23:00:00-04"  # shown in the session's zone


async def test_a_naive_datetime_in_a_timestamptz_column_is_utc(make_pg: MakePg) -> None:
    orm = await make_pg([Sample], server_settings={"timezone": "Asia/Kolkata"})
    got = await _written(orm, {"at": dt.datetime(2024, 1, 1, 12, 0)})
    assert got["at"] == dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


async def test_timestamp_without_time_zone_keeps_wall_clock_time(make_pg: MakePg) -> None:
    orm = await make_pg([Sample], server_settings={"timezone": "Asia/Kolkata"})
    naive = dt.datetime(2024, 1, 1, 12, 0, 0, 500)
    got = await _written(orm, {"naive_at": naive})
    assert got["naive_at"] == naive and got["naive_at"].tzinfo is None
    assert got["stored"]["naive_at"] == "2024-01-01 12:00:00.0005"
    # An aware value is stored as its UTC wall-clock time.
    aware = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    got = await _written(orm, {"naive_at": aware})
    assert got["naive_at"] == dt.datetime(2024, 1, 1, 10, 0)


async def test_jsonb_contains(make_pg: MakePg, sql_log: StatementLog) -> None:
    orm = await make_pg([Sample])
    em = orm.em.fork()
    em.create(Sample, {"text": "a", "items": ["x", "y", 3], "data": {"role": "admin", "n": 1}})
    em.create(Sample, {"text": "b", "items": [{"id": 1, "tag": "t"}], "data": {"role": "user"}})
    em.create(Sample, {"text": "c", "items": ["y"], "data": {"nested": {"deep": [1, 2]}}})
    await em.flush()
    reader = orm.em.fork()

    async def texts(where: dict[str, Any]) -> list[str]:
        return [s.text for s in await reader.find(Sample, where, order_by={"text": "asc"})]

    sql_log.clear()
    assert await texts({"items": {"$contains": "y"}}) == ["a", "c"]
    assert "@>" in sql_log.of_kind("SELECT")[-1]
    assert await texts({"items": {"$contains": ["x", 3]}}) == ["a"]
    assert await texts({"items": {"$contains": ["x", "z"]}}) == []
    assert await texts({"items": {"$contains": {"id": 1}}}) == ["b"]  # an element holding id=1
    assert await texts({"data": {"$contains": {"role": "admin"}}}) == ["a"]
    assert await texts({"data": {"$contains": {"nested": {"deep": [2]}}}}) == ["c"]
    assert await texts({"data": {"role": "user"}}) == ["b"]  # jsonb equality ignores key order


async def test_ilike_and_regular_expressions_are_native(
    make_pg: MakePg, sql_log: StatementLog
) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    em.persist(
        [Author("Émile Zola", "ez@x.io"), Author("emily", "em@x.io"), Author("Bob", "b@x.io")]
    )
    await em.flush()
    reader = orm.em.fork()
    sql_log.clear()
    found = await reader.find(Author, {"name": {"$ilike": "ÉM%"}}, order_by={"name": "asc"})
    assert [a.name for a in found] == ["Émile Zola"]
    assert " ILIKE " in sql_log.statements[-1]
    found = await reader.find(Author, {"name": {"$ilike": "em%"}})
    assert [a.name for a in found] == ["emily"]
    found = await reader.find(Author, {"name": {"$re": "^[Ee]m"}})
    assert [a.name for a in found] == ["emily"]
    assert " ~ " in sql_log.statements[-1]
    assert await reader.count(Author, {"name": {"$like": "bob"}}) == 0  # LIKE is case-sensitive


async def test_a_batched_update_is_one_update_from_values(
    make_pg: MakePg, sql_log: StatementLog
) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    authors = [Author(f"a{i}", f"a{i}@x.io", age=i) for i in range(5)]
    em.persist(authors)
    await em.flush()
    for author in authors:
        author.age = (author.age or 0) + 100
        author.name = author.name.upper()
    authors[2].age = None
    sql_log.clear()
    await em.flush()
    (update,) = sql_log.writes()
    assert "FROM (VALUES" in update
    rows = await orm.em.fork().find(Author, order_by={"email": "asc"})
    assert [(a.name, a.age) for a in rows] == [
        ("A0", 100),
        ("A1", 101),
        ("A2", None),
        ("A3", 103),
        ("A4", 104),
    ]


async def test_a_batched_update_of_composite_keys(make_pg: MakePg, sql_log: StatementLog) -> None:
    orm = await make_pg([Student, Course, Enrollment])
    em = orm.em.fork()
    student = Student(name="Sam")
    courses = [Course(title=f"C{i}") for i in range(3)]
    enrollments = [
        Enrollment(student=student, course=course, year=2025 + i % 2, grade="C")
        for i, course in enumerate(courses)
    ]
    em.persist(enrollments)
    await em.flush()
    for enrollment in enrollments:
        enrollment.grade = "A"
    sql_log.clear()
    await em.flush()
    assert len(sql_log.writes()) == 1
    grades = [e.grade for e in await orm.em.fork().find(Enrollment)]
    assert grades == ["A", "A", "A"]


async def test_existing_columns_and_additive_schema_update(make_pg: MakePg, pg_url: str) -> None:
    orm = await make_pg(LIBRARY)
    async with orm.driver.acquire() as connection:
        assert isinstance(connection, PostgresConnection)
        existing = await connection.existing_columns()
    assert existing["author"] == {"id", "name", "email", "age", "born"}
    assert "book_tags" in existing

    @entity(table="author")
    class AuthorV2:
        id: int = PrimaryKey()
        name: str = Property(length=100)
        email: str = Property(unique=True)
        age: int | None = None
        born: dt.date | None = None
        nickname: str | None = None

    grown = await ORM.init(url=pg_url, entities=[AuthorV2])
    try:
        await grown.schema.update()
        async with grown.driver.acquire() as connection:
            assert isinstance(connection, PostgresConnection)
            assert "nickname" in (await connection.existing_columns())["author"]
    finally:
        await grown.close()


async def test_raw_sql_scripts_and_string_parameters(make_pg: MakePg) -> None:
    orm = await make_pg([Sample])
    em = orm.em.fork()
    sample = em.create(Sample, {"text": "raw", "data": {"k": [1]}})
    await em.flush()
    result = await em.execute(
        "SELECT text FROM sample WHERE id = :id AND data = :data",
        {"id": str(sample.id), "data": '{"k": [1]}'},  # text for uuid and jsonb columns
    )
    assert result.rows == [{"text": "raw"}]
    await em.execute(
        "CREATE TABLE orm_script (a int); INSERT INTO orm_script VALUES (1), (2); "
        "DROP TABLE orm_script"
    )
    updated = await em.execute("UPDATE sample SET count = count + 1 WHERE text = :t", {"t": "raw"})
    assert updated.rowcount == 1 and updated.rows == []


@entity(table="pg_raw_types")
class RawTyped:
    id: int = PrimaryKey()
    big: int = Property(column_type="bigint", default=0)
    short: str = Property(column_type="varchar(5)", default="")
    note: str = Property(column_type="text", default="")


async def test_column_type_columns_in_batched_updates(make_pg: MakePg) -> None:
    orm = await make_pg([RawTyped])
    em = orm.em.fork()
    rows = [RawTyped() for _ in range(3)]
    em.persist(rows)
    await em.flush()
    for index, row in enumerate(rows):
        row.big = 2**40 + index
        row.short = f"ab{index}"
        row.note = "n" * 300
    await em.flush()  # one UPDATE ... FROM (VALUES ($1::bigint, ...)) for the three rows
    loaded = await orm.em.fork().find(RawTyped, order_by={"id": "asc"})
    assert [(r.big, r.short) for r in loaded] == [(2**40 + i, f"ab{i}") for i in range(3)]
    for row in rows:
        row.short = "too long"
    with pytest.raises(DriverError, match="too long"):
        await em.flush()  # an error, never a silent truncation to varchar(5)
