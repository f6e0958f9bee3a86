"""Snapshots and change detection, the identity map, and the ``orm.sql`` query log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from orm.core import ManyToOne, NamingStrategy, PrimaryKey, entity
from orm.core.metadata.discovery import discover
from orm.core.query_log import enable_debug_output, log_statement
from orm.core.state import meta_of
from orm.core.unit_of_work.identity_map import IdentityMap
from orm.core.unit_of_work.snapshot import changed_properties, take_snapshot

from .fakes import fake_orm


@entity
class Owner:
    id: int = PrimaryKey()
    name: str


@entity
class Thing:
    id: int = PrimaryKey()
    count: int = 0
    flag: int = 1
    data: dict[str, Any] | None = None
    owner: Owner | None = ManyToOne(Owner, nullable=True)


discover([Owner, Thing], NamingStrategy())


def test_snapshot_holds_persistent_values_and_copies_json() -> None:
    owner = Owner(name="o")
    thing = Thing(data={"a": [1]}, owner=owner)
    snapshot = take_snapshot(thing, meta_of(Thing))
    assert snapshot == {"id": None, "count": 0, "flag": 1, "data": {"a": [1]}, "owner": owner}
    assert snapshot["data"] is not thing.data
    assert snapshot["data"]["a"] is not thing.data["a"]  # type: ignore[index]
    assert snapshot["owner"] is owner


def test_nothing_changed() -> None:
    thing = Thing(data={"a": 1})
    snapshot = take_snapshot(thing, meta_of(Thing))
    assert changed_properties(thing, meta_of(Thing), snapshot) == {}


def test_changed_scalars_and_in_place_json_changes() -> None:
    thing = Thing(data={"a": 1})
    snapshot = take_snapshot(thing, meta_of(Thing))
    thing.count = 5
    thing.data["a"] = 2  # type: ignore[index]
    assert changed_properties(thing, meta_of(Thing), snapshot) == {"count": 5, "data": {"a": 2}}


def test_a_value_of_another_type_is_a_change() -> None:
    thing = Thing()
    snapshot = take_snapshot(thing, meta_of(Thing))
    thing.flag = True  # == 1, but not the same value
    assert changed_properties(thing, meta_of(Thing), snapshot) == {"flag": True}


def test_relations_compare_by_identity() -> None:
    first, twin = Owner(name="o"), Owner(name="o")
    thing = Thing(owner=first)
    snapshot = take_snapshot(thing, meta_of(Thing))
    thing.owner = twin
    assert changed_properties(thing, meta_of(Thing), snapshot) == {"owner": twin}


def test_values_missing_from_the_entity_are_not_changes() -> None:
    thing = Thing()
    snapshot = take_snapshot(thing, meta_of(Thing))
    del thing.__dict__["count"]
    assert changed_properties(thing, meta_of(Thing), snapshot) == {}
    assert "count" not in take_snapshot(thing, meta_of(Thing))


def test_a_value_missing_from_the_snapshot_is_a_change() -> None:
    thing = Thing(count=3)
    assert changed_properties(thing, meta_of(Thing), {"id": None}) == {
        "count": 3,
        "flag": 1,
        "data": None,
        "owner": None,
    }


def test_identity_map() -> None:
    identity_map = IdentityMap()
    first, second, other = Owner(name="1"), Owner(name="2"), Thing()
    identity_map.add(Owner, (1,), first)
    identity_map.add(Owner, (2,), second)
    identity_map.add(Thing, (1,), other)
    assert identity_map.get(Owner, (1,)) is first
    assert identity_map.get(Thing, (1,)) is other
    assert identity_map.get(Owner, (3,)) is None
    assert len(identity_map) == 3
    assert identity_map.of_class(Owner) == [first, second]
    assert list(identity_map) == [first, second, other]
    identity_map.discard(Owner, (1,))
    identity_map.discard(Owner, (99,))  # not an error
    assert identity_map.get(Owner, (1,)) is None
    identity_map.clear()
    assert len(identity_map) == 0


# -- query log ---------------------------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def sql_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("orm.sql")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_log_statement_carries_sql_params_and_duration(sql_logger: logging.Logger) -> None:
    records = Records()
    sql_logger.addHandler(records)
    sql_logger.setLevel(logging.DEBUG)
    log_statement("SELECT 1", 2, 1.5)
    (record,) = records.records
    assert record.getMessage() == "SELECT 1  [2 params, 1.50 ms]"
    assert (record.sql, record.param_count, record.duration_ms) == ("SELECT 1", 2, 1.5)  # type: ignore[attr-defined]


def test_log_statement_is_silent_unless_debug_is_enabled(sql_logger: logging.Logger) -> None:
    records = Records()
    sql_logger.addHandler(records)
    sql_logger.setLevel(logging.INFO)
    log_statement("SELECT 1", 0, 0.1)
    assert records.records == []


def test_enable_debug_output_adds_one_stderr_handler(sql_logger: logging.Logger) -> None:
    before = len(sql_logger.handlers)
    enable_debug_output()
    enable_debug_output()
    assert len(sql_logger.handlers) == before + 1
    assert sql_logger.level == logging.DEBUG


async def test_orm_init_debug_prints_statements(
    sql_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_logger.handlers[:] = [
        h for h in sql_logger.handlers if not hasattr(h, "_orm_debug_handler")
    ]
    await fake_orm([Owner, Thing], debug=True)
    log_statement("SELECT 42", 0, 0.0)
    assert "[orm.sql] SELECT 42  [0 params, 0.00 ms]" in capsys.readouterr().err
