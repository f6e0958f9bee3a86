"""``PostgresConnection.upsert``: INSERT ... ON CONFLICT DO UPDATE ... RETURNING."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from orm.core import ORM, DriverError, UpsertBatch
from orm.core.upsert import build_upsert

from ...compliance.models import LIBRARY, Author, Course, Enrollment, Student
from ...conftest import StatementLog
from .conftest import MakePg


def _batch(
    orm: ORM,
    entity: type[Any],
    rows: Sequence[Mapping[str, Any]],
    on_conflict: Sequence[str] | None = None,
    update: Sequence[str] | None = None,
) -> UpsertBatch:
    return build_upsert(orm.metadata[entity], rows, on_conflict, update)


async def _upsert(orm: ORM, batch: UpsertBatch) -> list[dict[str, Any]]:
    async with orm.driver.acquire() as connection:
        return await connection.upsert(batch)


async def test_insert_then_update_returns_rows_in_input_order(
    make_pg: MakePg, sql_log: StatementLog
) -> None:
    orm = await make_pg(LIBRARY)
    first = await _upsert(
        orm,
        _batch(orm, Author, [{"email": "b@x.io", "name": "B"}, {"email": "a@x.io", "name": "A"}]),
    )
    assert [row["name"] for row in first] == ["B", "A"]
    ids = {row["email"]: row["id"] for row in first}
    sql_log.clear()
    second = await _upsert(
        orm,
        _batch(
            orm,
            Author,
            [
                {"email": "c@x.io", "name": "C"},
                {"email": "a@x.io", "name": "A2"},
                {"email": "b@x.io", "name": "B2"},
            ],
        ),
    )
    (statement,) = sql_log.statements
    assert "ON CONFLICT (email) DO UPDATE SET name = excluded.name" in statement
    assert "RETURNING" in statement
    assert [(row["email"], row["name"]) for row in second] == [
        ("c@x.io", "C"),
        ("a@x.io", "A2"),
        ("b@x.io", "B2"),
    ]
    assert second[1]["id"] == ids["a@x.io"] and second[2]["id"] == ids["b@x.io"]
    assert set(second[0]) == {p.name for p in orm.metadata[Author].persistent}


async def test_repeated_conflict_keys_in_one_batch_last_one_wins(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    rows = await _upsert(
        orm,
        _batch(
            orm,
            Author,
            [
                {"email": "a@x.io", "name": "first"},
                {"email": "b@x.io", "name": "other"},
                {"email": "a@x.io", "name": "last"},
            ],
        ),
    )
    assert [row["name"] for row in rows] == ["last", "other", "last"]
    assert rows[0]["id"] == rows[2]["id"]
    assert await orm.em.fork().count(Author) == 2


async def test_no_update_columns_keeps_the_row_and_still_returns_it(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    await _upsert(orm, _batch(orm, Author, [{"email": "a@x.io", "name": "kept"}]))
    rows = await _upsert(
        orm, _batch(orm, Author, [{"email": "a@x.io", "name": "ignored"}], update=[])
    )
    assert [row["name"] for row in rows] == ["kept"]


async def test_composite_keys_with_relations(make_pg: MakePg) -> None:
    orm = await make_pg([Student, Course, Enrollment])
    em = orm.em.fork()
    student, course = Student(name="Sam"), Course(title="Math")
    em.persist([student, course])
    await em.flush()
    key = {"student": student.id, "course": course.id, "year": 2026}
    await _upsert(orm, _batch(orm, Enrollment, [{**key, "grade": "C"}]))
    rows = await _upsert(
        orm,
        _batch(orm, Enrollment, [{**key, "grade": "A"}, {**key, "year": 2027, "grade": "B"}]),
    )
    assert [(row["year"], row["grade"]) for row in rows] == [(2026, "A"), (2027, "B")]
    assert rows[0]["student"] == (student.id,)


async def test_large_batches_are_split_below_the_parameter_limit(
    make_pg: MakePg, sql_log: StatementLog
) -> None:
    orm = await make_pg(LIBRARY)
    driver = orm.driver
    driver.platform = dataclasses.replace(driver.platform, max_parameters=10)
    sql_log.clear()
    data = [{"email": f"{i}@x.io", "name": f"n{i}"} for i in range(12)]
    rows = await _upsert(orm, _batch(orm, Author, data))
    assert [row["email"] for row in rows] == [d["email"] for d in data]
    assert len(sql_log.of_kind("INSERT")) > 1
    assert all(statement.count("$") <= 10 for statement in sql_log.of_kind("INSERT"))


async def test_conflict_columns_without_a_unique_constraint(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    batch = _batch(orm, Author, [{"email": "a@x.io", "name": "A"}], on_conflict=["name"])
    with pytest.raises(DriverError, match="unique constraint on exactly the conflict"):
        await _upsert(orm, batch)


async def test_em_upsert_on_postgres(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    first = await em.upsert(Author, {"email": "up@x.io", "name": "First"})
    second = await em.upsert(Author, {"email": "up@x.io", "name": "Second", "age": 3})
    assert second is first and first.name == "Second" and first.age == 3
