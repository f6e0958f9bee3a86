"""The per-property value checks of a flush: each kind, its boundaries, and the messages."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest

from orm.core import ManyToOne, PrimaryKey, Property, ValidationError, entity
from orm.core.metadata.discovery import discover
from orm.core.metadata.naming import NamingStrategy
from orm.core.state import meta_of
from orm.core.unit_of_work.value_checks import compile_check, json_problem
from orm.core.unit_of_work.value_problems import ValueProblems, compiled_checks, shorten

from .fakes import driver_of, fake_orm


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


@entity
class Owner:
    id: int = PrimaryKey()
    name: str = ""


@entity
class Other:
    id: int = PrimaryKey()


@entity
class Item:
    id: int = PrimaryKey()
    count: int = 0
    big: int = Property(column_type="bigint", default=0)
    small: int = Property(column_type="smallint", default=0)
    code: str = Property(length=3, default="abc")
    note: str = ""
    body: str = Property(column_type="text", default="")
    ratio: float = 0.0
    flag: bool = False
    price: Decimal = Property(precision=5, scale=2, default=Decimal("0"))
    whole: Decimal = Property(precision=4, default=Decimal("0"))
    free: Decimal = Decimal("0")
    at: dt.datetime | None = None
    day: dt.date | None = None
    clock: dt.time | None = None
    token: uuid.UUID | None = None
    blob: bytes | None = None
    short_blob: bytes | None = Property(length=4, default=None)
    color: Color = Color.RED
    level: Level = Level.LOW
    data: dict[str, Any] | None = None
    items: list[Any] | None = None
    owner: Owner | None = ManyToOne(Owner)
    secret: str = Property(server_default="'x'", init=False)


discover([Owner, Other, Item], NamingStrategy())
EMPTY: dict[str, Any] = {}


def _check(name: str, value: Any) -> str | None:
    return compile_check(meta_of(Item).properties[name])(value)


# A value that fits, per property (boundaries included).
FITS = [
    ("count", 0),
    ("count", 2**31 - 1),
    ("count", -(2**31)),
    ("big", 2**63 - 1),
    ("big", -(2**63)),
    ("small", 32767),
    ("small", -32768),
    ("code", ""),
    ("code", "abc"),
    ("code", "äöü"),  # characters, not bytes
    ("note", "x" * 255),
    ("body", "x" * 100_000),
    ("ratio", 1.5),
    ("ratio", 3),  # an int is a float
    ("ratio", -1e308),
    ("flag", True),
    ("flag", False),
    ("price", Decimal("999.99")),
    ("price", Decimal("-999.99")),
    ("price", Decimal("1.5")),
    ("price", Decimal("1.500000")),  # trailing zeros are not lost
    ("price", Decimal("0.01")),
    ("price", Decimal("0E+5")),
    ("price", 999),  # an int is a Decimal
    ("whole", Decimal("9999")),
    ("whole", Decimal("12.0")),
    ("whole", -9999),
    ("free", Decimal("1234567890123456789.123456789")),
    ("at", dt.datetime(2024, 1, 1)),  # naive
    ("at", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),  # aware
    ("day", dt.date(2024, 1, 1)),
    ("clock", dt.time(23, 59)),
    ("token", uuid.uuid4()),
    ("token", "12345678-1234-5678-1234-567812345678"),
    ("blob", b"\x00" * 1000),
    ("blob", bytearray(b"ab")),
    ("short_blob", b"abcd"),
    ("color", Color.GREEN),
    ("color", "green"),  # its value, as the drivers store it
    ("level", Level.HIGH),
    ("level", 2),
    ("data", {"a": [1, 2.5, None, True, "s", {"b": {}}]}),
    ("items", [1, "two", {"three": 3}]),
]


@pytest.mark.parametrize(("name", "value"), FITS)
def test_values_that_fit(name: str, value: Any) -> None:
    assert _check(name, value) is None


# A value that does not fit, and a fragment of what the check expects.
REFUSED = [
    ("count", "notint", "an int"),
    ("count", 1.0, "an int"),
    ("count", True, "a bool is not an int"),
    ("count", 2**31, "from -2147483648 to 2147483647 (a 32-bit column)"),
    ("count", -(2**31) - 1, 'column_type="bigint"'),
    ("big", 2**63, "64-bit"),
    ("small", 32768, "16-bit"),
    ("code", "abcd", "at most 3 characters"),
    ("code", 123, "a str"),
    ("code", "a\x00", "NUL"),
    ("note", "x" * 256, "at most 255 characters"),
    ("ratio", "1.5", "a float (or an int)"),
    ("ratio", Decimal("1.5"), "a float"),
    ("ratio", True, "a float"),
    ("ratio", float("nan"), "finite"),
    ("ratio", float("inf"), "finite"),
    ("flag", 1, "a bool"),
    ("flag", "true", "a bool"),
    ("price", Decimal("1000.00"), "at most 3 digit(s) before the point and 2 after"),
    ("price", Decimal("1.234"), "numeric(5, 2)"),
    ("price", Decimal("NaN"), "finite Decimal"),
    ("price", Decimal("-Infinity"), "finite Decimal"),
    ("price", 1000, "numeric(5, 2)"),
    ("price", 1.5, "a float is inexact"),
    ("price", "1.5", "a Decimal (or an int)"),
    ("price", True, "a Decimal"),
    ("whole", Decimal("0.5"), "numeric(4, 0)"),
    ("whole", Decimal("1E+4"), "numeric(4, 0)"),
    ("whole", 10_000, "numeric(4, 0)"),
    ("free", Decimal("sNaN"), "finite Decimal"),
    ("at", "2024-01-01", "a datetime"),
    ("at", dt.date(2024, 1, 1), "a datetime"),
    ("day", dt.datetime(2024, 1, 1, 12), "not a datetime"),
    ("day", "2024-01-01", "a date"),
    ("clock", "12:00", "a time"),
    ("token", "not-a-uuid", "not a UUID"),
    ("token", 5, "a UUID"),
    ("blob", "text", "bytes"),
    ("short_blob", b"abcde", "at most 4 bytes"),
    ("color", "blue", "a Color (Color.RED, Color.GREEN) or one of its values"),
    ("color", Level.LOW, "a Color"),
    ("color", ["red"], "a Color"),
    ("level", True, "a Level"),
    ("data", [1], "a dict (JSON)"),
    ("items", {"a": 1}, "a list (JSON)"),
    ("data", {"when": dt.date(2024, 1, 1)}, "not a date (at ['when'])"),
    ("data", {"a": [0, {1: "x"}]}, "the int key 1 at ['a'][1]"),
    ("data", {"a": float("nan")}, "finite"),
    ("items", [("tuple",)], "not a tuple (at [0])"),
    ("items", ["a\x00"], "NUL"),
    ("owner", 5, "an Owner entity"),
    ("owner", Other(), "an Owner entity"),
]


@pytest.mark.parametrize(("name", "value", "expected"), REFUSED)
def test_values_that_are_refused(name: str, value: Any, expected: str) -> None:
    problem = _check(name, value)
    assert problem is not None and expected in problem


def _fast_path_fits(name: str, value: Any) -> bool:
    """The generated per-class fast path over an Item whose ``name`` holds ``value``."""
    item = Item()
    item.__dict__[name] = value
    return compiled_checks(meta_of(Item)).all_fit(item.__dict__)


@pytest.mark.parametrize(("name", "value"), FITS)
def test_the_fast_path_never_refuses_what_fits(name: str, value: Any) -> None:
    # It may leave a value to the per-property check (returns False), but then that one agrees.
    assert _fast_path_fits(name, value) or _check(name, value) is None


@pytest.mark.parametrize(("name", "value", "expected"), REFUSED)
def test_the_fast_path_never_passes_what_is_refused(name: str, value: Any, expected: str) -> None:
    assert not _fast_path_fits(name, value)


def test_the_fast_path_passes_common_values_inline() -> None:
    item = Item(count=5, code="abc", price=Decimal("999.99"), at=dt.datetime(2024, 1, 1))
    assert compiled_checks(meta_of(Item)).all_fit(item.__dict__)
    del item.__dict__["count"]  # missing: decided by the per-property checks
    assert not compiled_checks(meta_of(Item)).all_fit(item.__dict__)


def test_an_entity_of_the_target_class_fits() -> None:
    assert _check("owner", Owner(name="o")) is None


def test_json_problem_of_a_deep_document() -> None:
    document: Any = "leaf"
    for _ in range(5000):  # deeper than the recursion limit: the walk is iterative
        document = [document]
    assert json_problem(document) is None


def test_checks_are_compiled_once_per_entity_class() -> None:
    first = compiled_checks(meta_of(Item))
    assert compiled_checks(meta_of(Item)) is first
    assert [name for name, *_ in first.ordered] == [p.name for p in meta_of(Item).persistent]


def test_shorten_cuts_long_values() -> None:
    text = shorten("y" * 10_000)
    assert text.startswith("a str of length 10000: 'yyy")
    assert len(text) < 80
    assert shorten(5) == "an int: 5"


def test_message_names_entity_property_type_value_and_expectation() -> None:
    problems = ValueProblems()
    problems.check_new(Item(count="notint"), meta_of(Item))  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        problems.raise_if_any()
    message = str(info.value)
    assert message.startswith("Item.count of the new Item holds a str of length 6: 'notint'")
    assert "expected an int" in message


def test_every_problem_is_listed() -> None:
    problems = ValueProblems()
    item = Item(code="toolong", flag=1, price=Decimal("0.001"))  # type: ignore[arg-type]
    problems.check_new(item, meta_of(Item))
    with pytest.raises(ValidationError) as info:
        problems.raise_if_any()
    lines = str(info.value).splitlines()
    assert lines[0].startswith("3 values cannot be written; nothing was sent")
    assert [line.split(" ")[3] for line in lines[1:]] == ["Item.code", "Item.flag", "Item.price"]


def test_none_is_refused_only_where_required() -> None:
    problems = ValueProblems()
    item = Item()
    item.count = None  # type: ignore[assignment]
    item.at = None
    item.secret = None  # type: ignore[assignment]  # the server default fills it
    problems.check_new(item, meta_of(Item))
    assert len(problems.lines) == 1
    assert problems.lines[0].startswith("Item.count is required but the new Item has no value")


def test_no_problem_raises_nothing() -> None:
    problems = ValueProblems()
    problems.check_new(Item(), meta_of(Item))
    problems.raise_if_any()


# -- through a flush (FakeDriver: what is sent is recorded) -----------------------------------


async def test_a_bad_insert_sends_nothing_and_a_fixed_one_is_written() -> None:
    orm = await fake_orm([Owner, Other, Item])
    driver = driver_of(orm)
    em = orm.em.fork()
    item = Item(count="notint", code="toolong")  # type: ignore[arg-type]
    em.persist(item)
    with pytest.raises(ValidationError, match=r"2 values cannot be written") as info:
        await em.flush()
    assert "Item.count" in str(info.value) and "Item.code" in str(info.value)
    assert driver.log == []
    assert item not in em
    item.count, item.code = 1, "ok"
    await em.flush()
    assert item in em and item.id is not None


async def test_a_bad_update_sends_nothing_and_stays_dirty() -> None:
    orm = await fake_orm([Owner, Other, Item])
    driver = driver_of(orm)
    em = orm.em.fork()
    item = Item()
    em.persist(item)
    await em.flush()
    driver.clear_log()
    item.count = 2**40
    item.flag = "yes"  # type: ignore[assignment]
    with pytest.raises(ValidationError) as info:
        await em.flush()
    message = str(info.value)
    assert "Item.count of Item with key 1 holds an int: 1099511627776" in message
    assert "Item.flag of Item with key 1 holds a str" in message
    assert driver.log == []
    item.count, item.flag = 7, True
    await em.flush()
    (update,) = driver.writes()
    assert update.rows == [((1,), {"count": 7, "flag": True})]


async def test_a_to_one_holding_a_non_entity_is_reported_with_the_rest() -> None:
    orm = await fake_orm([Owner, Other, Item])
    em = orm.em.fork()
    em.persist(Item(owner=3, count=True))  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        await em.flush()
    message = str(info.value)
    assert "Item.owner of the new Item holds an int: 3; expected an Owner entity" in message
    assert "Item.count" in message


async def test_a_nan_read_from_the_database_is_not_a_change() -> None:
    """NaN is not equal to itself; the snapshot comparison must not take it for a change (the
    checks would then refuse to write it back and no flush of the fork could succeed)."""
    orm = await fake_orm([Owner, Other, Item])
    driver = driver_of(orm)
    em = orm.em.fork()
    em.persist(Item())
    await em.flush()
    driver.rows(meta_of(Item))[0]["ratio"] = float("nan")
    reader = orm.em.fork()
    (item,) = await reader.find(Item)
    driver.clear_log()
    item.count = 3
    await reader.flush()
    (update,) = driver.writes()
    assert update.rows == [((1,), {"count": 3})]
