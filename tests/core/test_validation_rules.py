"""Declared rules and validators checked at flush (value_rules), entity validators, and the
structured FlushValidationError; through ValueProblems and through a flush on the FakeDriver."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from orm.core import (
    FlushValidationError,
    PrimaryKey,
    Property,
    ValidationError,
    ValidationProblem,
    entity,
)
from orm.core.metadata.discovery import discover
from orm.core.metadata.naming import NamingStrategy
from orm.core.state import meta_of
from orm.core.unit_of_work.value_problems import ValueProblems, compiled_checks
from orm.core.unit_of_work.value_rules import compile_rules, validator_reasons

from .fakes import driver_of, fake_orm


def even(value: int) -> str | None:
    return None if value % 2 == 0 else "it must be even"


def positive(value: int) -> None:
    if value <= 0:
        raise ValueError("it must be positive")


def several(value: str) -> list[str]:
    return ["first", "second"] if value == "xx" else []


@entity
class Rule:
    id: int = PrimaryKey()
    code: str = Property(length=10, min_length=2, max_length=5, pattern=r"^[A-Z]", default="AB")
    count: int = Property(validate=[even, positive], min_value=-10, max_value=100, default=2)
    note: str | None = Property(min_length=3, validate=several, default=None)
    at: dt.datetime | None = Property(min_value=dt.datetime(2000, 1, 1), default=None)
    plain: int = 0


calls: list[str] = []


def named(slot: Slot) -> str | None:
    calls.append(slot.name)
    return "the name 'bad' is taken" if slot.name == "bad" else None


def bounded(slot: Slot) -> bool:
    return slot.low <= slot.high


@entity(validators=[named, bounded])
class Slot:
    id: int = PrimaryKey()
    name: str = Property(length=10)
    low: int = 0
    high: int = 0


discover([Rule, Slot], NamingStrategy())


def _rules(name: str, value: Any) -> list[str] | None:
    rules = compile_rules(meta_of(Rule).properties[name])
    assert rules is not None
    return rules(value)


def test_a_property_without_rules_compiles_to_none() -> None:
    assert compile_rules(meta_of(Rule).properties["plain"]) is None
    assert "plain" not in compiled_checks(meta_of(Rule)).rules_by_name


def test_declared_bounds_and_pattern() -> None:
    assert _rules("code", "ABC") is None
    assert _rules("code", "A") == [
        "its length 1 is under the minimum of 2 (Property(min_length=...))"
    ]
    assert _rules("code", "abcdef") == [
        "its length 6 is over the maximum of 5 (Property(max_length=...))",
        "it does not match the pattern '^[A-Z]' (Property(pattern=...))",
    ]
    assert _rules("count", 100) is None
    assert _rules("count", 102) == ["it is over the maximum of 100 (Property(max_value=...))"]
    assert _rules("count", -12) == [
        "it is under the minimum of -10 (Property(min_value=...))",
        "it must be positive",
    ]
    assert _rules("at", dt.datetime(1999, 1, 1)) == [
        "it is under the minimum of datetime.datetime(2000, 1, 1, 0, 0) (Property(min_value=...))"
    ]
    aware = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert _rules("at", aware) == [
        "it cannot be compared with the bound datetime.datetime(2000, 1, 1, 0, 0) "
        "(Property(min_value=...))"
    ]


def test_validators_return_a_message_messages_or_raise_value_error() -> None:
    assert _rules("count", 3) == ["it must be even"]
    assert _rules("count", -1) == ["it must be even", "it must be positive"]
    assert _rules("note", "xx") == [
        "its length 2 is under the minimum of 3 (Property(min_length=...))",
        "first; second",
    ]
    assert validator_reasons(lambda value: False, 1) == ["refused by the validator <lambda>"]
    assert validator_reasons(lambda value: True, 1) == []


def test_a_validator_error_other_than_value_error_is_not_swallowed() -> None:
    def broken(value: int) -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        validator_reasons(broken, 1)


def test_rules_run_only_on_values_of_the_right_type() -> None:
    problems = ValueProblems()
    rule = Rule(count="x")  # type: ignore[arg-type]
    problems.check_new(rule, meta_of(Rule))
    assert [p.reason for p in problems.problems] == [
        "holds a str of length 1: 'x'; expected an int"
    ]


def test_none_in_a_nullable_property_skips_its_rules() -> None:
    problems = ValueProblems()
    problems.check_inserts([Rule(note=None)])
    problems.raise_if_any()


def test_problems_are_structured_and_listed_in_one_error() -> None:
    problems = ValueProblems()
    problems.check_inserts([Rule(code="a", count=3), Rule()])
    with pytest.raises(FlushValidationError) as info:
        problems.raise_if_any()
    assert isinstance(info.value, ValidationError)
    assert info.value.problems == [
        ValidationProblem(
            "Rule",
            "new",
            "code",
            "its length 1 is under the minimum of 2 (Property(min_length=...))",
        ),
        ValidationProblem(
            "Rule", "new", "code", "it does not match the pattern '^[A-Z]' (Property(pattern=...))"
        ),
        ValidationProblem("Rule", "new", "count", "it must be even"),
    ]
    lines = str(info.value).splitlines()
    assert lines[0].startswith("3 values cannot be written; nothing was sent")
    assert lines[1] == (
        "  - Rule.code of the new Rule is invalid: its length 1 is under the minimum of 2 "
        "(Property(min_length=...)); it holds a str of length 1: 'a'. Nothing was sent: assign a "
        "valid value and flush again"
    )


def test_entity_validators_run_only_when_the_values_are_right() -> None:
    calls.clear()
    problems = ValueProblems()
    problems.check_inserts([Slot(name="ok"), Slot(name="bad", low=2, high=1), Slot(name=5)])  # type: ignore[arg-type]
    assert calls == ["ok", "bad"]  # not for the Slot whose name is not a str
    assert [(p.property, p.reason) for p in problems.problems] == [
        (None, "the name 'bad' is taken"),
        (None, "refused by the validator bounded"),
        ("name", "holds an int: 5; expected a str"),
    ]
    assert problems.lines[0] == (
        "the new Slot is refused by its validator named: the name 'bad' is taken. Nothing was "
        "sent: fix the entity and flush again"
    )


async def test_a_flush_sends_nothing_and_keeps_the_changes_pending() -> None:
    orm = await fake_orm([Rule, Slot])
    driver = driver_of(orm)
    em = orm.em.fork()
    slot = Slot(name="s1")
    em.persist(slot)
    await em.flush()
    driver.log.clear()
    slot.low, slot.high = 5, 1
    with pytest.raises(FlushValidationError) as info:
        await em.flush()
    assert driver.log == []
    assert info.value.problems == [
        ValidationProblem("Slot", slot.id, None, "refused by the validator bounded")
    ]
    assert f"Slot with key {slot.id} is refused by its validator bounded" in str(info.value)
    slot.high = 9
    await em.flush()
    assert driver.log != []


async def test_an_upsert_row_is_checked_against_the_rules() -> None:
    orm = await fake_orm([Rule, Slot])
    em = orm.em.fork()
    with pytest.raises(FlushValidationError) as info:
        await em.upsert(Rule, {"id": 1, "count": 5})
    assert info.value.problems == [ValidationProblem("Rule", None, "count", "it must be even")]
    assert str(info.value).startswith("Rule.count of upsert(Rule) is invalid: it must be even")
