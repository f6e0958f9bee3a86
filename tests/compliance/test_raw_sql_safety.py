"""Hand-written SQL (``raw()``, ``em.execute()``) cannot be turned into other SQL by a value.

A ``:name`` written inside quotes (``name = ':p'``) is not a bound parameter: MySQL drivers
put the value into the SQL text, and aiomysql allowed several statements per call, so a value
``) ; DELETE FROM ...; SELECT (`` deleted rows. Now such a placeholder is a ValidationError on
every database before anything is sent, MySQL connections run one statement per call, and
wrongly shaped arguments are ValidationErrors naming what to pass.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from orm.core import ORM, PrimaryKey, Property, ValidationError, entity
from orm.core.errors import DriverError
from orm.query_builder import raw

from ..conftest import StatementLog
from .conftest import MakeOrm

# The query builder and raw SQL: databases that speak SQL (Platform.sql).
pytestmark = pytest.mark.capability("sql")

INJECTION = ") ; DELETE FROM safety_note; SELECT ("


@entity(table="safety_note")
class SafetyNote:
    id: int = PrimaryKey()
    name: str = Property(length=60)


async def _orm(make_orm: MakeOrm) -> ORM:
    orm = await make_orm([SafetyNote])
    em = orm.em.fork()
    em.persist([SafetyNote(name="first"), SafetyNote(name="12:30")])
    await em.flush()
    return orm


async def _count(orm: ORM) -> int:
    return await orm.em.fork().count(SafetyNote, {})


QUOTED = [
    ("SELECT id FROM safety_note WHERE name = ':p'", "a quoted string"),
    ('SELECT id FROM safety_note WHERE name = ":p"', "a quoted name"),
    ("SELECT id FROM safety_note WHERE name = `:p`", "a backtick-quoted name"),
    ("SELECT id FROM safety_note WHERE name = 'it''s :p'", "a quoted string"),
    ("SELECT id FROM safety_note WHERE name = 'a\\' :p'", "a quoted string"),
    ("SELECT id FROM safety_note /* :p */ WHERE id = 1", "a /* */ comment"),
    ("SELECT id FROM safety_note WHERE id = 1 -- :p", "a -- comment"),
]


@pytest.mark.parametrize(("sql", "where"), QUOTED)
async def test_execute_rejects_a_placeholder_inside_quotes_and_sends_nothing(
    make_orm: MakeOrm, sql_log: StatementLog, sql: str, where: str
) -> None:
    orm = await _orm(make_orm)
    sql_log.clear()
    with pytest.raises(ValidationError) as raised:
        await orm.em.fork().execute(sql, {"p": INJECTION})
    message = str(raised.value)
    assert f"inside {where}" in message and "a.name = :p" in message
    assert sql_log.statements == []
    assert await _count(orm) == 2


@pytest.mark.parametrize(("sql", "where"), QUOTED)
async def test_raw_rejects_a_placeholder_inside_quotes(sql: str, where: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"inside {where}")):
        raw(sql, {"p": INJECTION})


async def test_the_injection_of_the_report_deletes_nothing(make_orm: MakeOrm) -> None:
    orm = await _orm(make_orm)
    em = orm.em.fork()
    with pytest.raises(ValidationError, match=r"a\.name = :p"):
        qb = em.create_query_builder(SafetyNote, "a")
        await qb.where(raw("a.name = ':p'", {"p": INJECTION})).get_result_list()
    assert await _count(orm) == 2
    # Written alone, the placeholder binds the value: it matches nothing and deletes nothing.
    qb = em.create_query_builder(SafetyNote, "a")
    assert await qb.where(raw("a.name = :p", {"p": INJECTION})).get_result_list() == []
    result = await em.execute("SELECT id FROM safety_note WHERE name = :p", {"p": INJECTION})
    assert result.rows == []
    assert await _count(orm) == 2


async def test_one_statement_per_call(make_orm: MakeOrm) -> None:
    """A second statement in one call fails on every database (MySQL: multi-statements off)."""
    orm = await _orm(make_orm)
    with pytest.raises(DriverError):
        await orm.em.fork().execute(
            "SELECT id FROM safety_note WHERE name = :p; DELETE FROM safety_note", {"p": "x"}
        )
    assert await _count(orm) == 2


async def test_colons_that_are_not_placeholders_keep_working(make_orm: MakeOrm) -> None:
    orm = await _orm(make_orm)
    em = orm.em.fork()
    rows = (await em.execute("SELECT name FROM safety_note WHERE name = '12:30'")).rows
    assert rows == [{"name": "12:30"}]
    rows = (await em.execute("SELECT name FROM safety_note WHERE name = '12\\:30'")).rows
    assert rows == [{"name": "12:30"}]
    qb = em.create_query_builder(SafetyNote, "a")
    found = await qb.where(raw("a.name = '12:30' AND a.id > :low", {"low": 0})).get_result_list()
    assert [note.name for note in found] == ["12:30"]
    assert raw("a.id::int = :n", {"n": 1}).sql == "a.id::int = :n"  # PostgreSQL casts


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("x", "raw() takes its parameters as a dict"),
        ([("p", 1)], "raw() takes its parameters as a dict"),
        ({"p": Decimal("sNaN")}, "parameter 'p' is Decimal('sNaN')"),
        ({}, "uses the placeholder(s) :p but the params dict has no value"),
        ({"p": 1, "q": 2}, "the params dict has 'q' but the SQL has no such :name placeholder"),
        ({1: 2, "p": 1}, "parameter names must be identifiers"),
    ],
)
def test_raw_argument_errors_are_validation_errors(params: Any, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        raw("a.id = :p", params)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("x", "execute() takes parameters as a dict"),
        ([1], "execute() takes parameters as a dict"),
        ({"p": Decimal("sNaN")}, "parameter 'p' is Decimal('sNaN')"),
        ({}, "uses the placeholder(s) :p but the params dict has no value"),
        (None, "uses the placeholder(s) :p but the params dict has no value"),
        ({"p": 1, "q": 2}, "the params dict has 'q' but the SQL has no such :name placeholder"),
    ],
)
async def test_execute_argument_errors_are_validation_errors(
    make_orm: MakeOrm, sql_log: StatementLog, params: Any, message: str
) -> None:
    orm = await _orm(make_orm)
    sql_log.clear()
    with pytest.raises(ValidationError) as raised:
        await orm.em.fork().execute("SELECT id FROM safety_note WHERE id = :p", params)
    assert message in str(raised.value)
    assert sql_log.statements == []
