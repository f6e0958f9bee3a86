"""Malformed arguments of the read methods, and the filter depth limits: a ValidationError that
names the argument (or the limit), before any statement is sent."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from orm.core import (
    ORM,
    Collection,
    ManyToOne,
    NamingStrategy,
    OneToMany,
    PrimaryKey,
    Property,
    ValidationError,
    entity,
)
from orm.core.metadata.discovery import discover
from orm.core.query.filter import parse_filter, parse_order_by
from orm.core.query.limits import MAX_FILTER_DEPTH, MAX_JSON_DEPTH, MAX_RELATION_HOPS
from orm.core.state import meta_of

from .fakes import FakeDriver, driver_of, fake_orm


@entity
class OptPerson:
    id: int = PrimaryKey()
    name: str
    parent: OptPerson | None = ManyToOne("OptPerson", nullable=True)
    posts: Collection[OptPost] = OneToMany("OptPost", mapped_by="person")


@entity
class OptPost:
    id: int = PrimaryKey()
    title: str
    score: float = 0.0
    price: Decimal = Property(precision=10, scale=2, default=Decimal("0"))
    data: dict[str, Any] | None = None
    person: OptPerson = ManyToOne(OptPerson)


METAS = discover([OptPerson, OptPost], NamingStrategy())
PERSON = METAS[OptPerson]
POST = METAS[OptPost]


async def _orm() -> tuple[ORM, FakeDriver]:
    orm = await fake_orm([OptPerson, OptPost])
    driver = driver_of(orm)
    driver.add_row(meta_of(OptPerson), {"id": 1, "name": "Ann", "parent_id": None})
    driver.add_row(meta_of(OptPost), {"id": 1, "title": "t", "person_id": 1})
    driver.clear_log()
    return orm, driver


def _logical(key: str, depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"name": "x"}
    for _ in range(depth):
        node = {"$not": node} if key == "$not" else {key: [node]}
    return node


def _hops(count: int) -> dict[str, Any]:
    node: dict[str, Any] = {"name": "x"}
    for _ in range(count):
        node = {"parent": node}
    return node


# -- the depth limits ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["$and", "$or", "$not"])
def test_logical_nesting_up_to_the_limit_parses(key: str) -> None:
    assert parse_filter(PERSON, _logical(key, MAX_FILTER_DEPTH)) is not None


@pytest.mark.parametrize("key", ["$and", "$or", "$not"])
@pytest.mark.parametrize("depth", [MAX_FILTER_DEPTH + 1, 5000])
def test_logical_nesting_past_the_limit_is_a_validation_error(key: str, depth: int) -> None:
    # 5000 levels would exhaust Python's recursion limit: the check answers first.
    with pytest.raises(ValidationError, match=f"MAX_FILTER_DEPTH = {MAX_FILTER_DEPTH}"):
        parse_filter(PERSON, _logical(key, depth))


def test_a_not_inside_a_property_counts_towards_the_depth() -> None:
    node: dict[str, Any] = {"$eq": "x"}
    for _ in range(MAX_FILTER_DEPTH + 1):
        node = {"$not": node}
    with pytest.raises(ValidationError, match="MAX_FILTER_DEPTH"):
        parse_filter(PERSON, {"name": node})


def test_relation_hops_up_to_the_limit_parse() -> None:
    assert parse_filter(PERSON, _hops(MAX_RELATION_HOPS)) is not None


@pytest.mark.parametrize("count", [MAX_RELATION_HOPS + 1, 3000])
def test_relation_hops_past_the_limit_are_a_validation_error(count: int) -> None:
    with pytest.raises(ValidationError, match=f"MAX_RELATION_HOPS = {MAX_RELATION_HOPS}"):
        parse_filter(PERSON, _hops(count))


def test_hops_and_logical_levels_count_together() -> None:
    where = _logical("$and", MAX_FILTER_DEPTH - 2)
    where = {"parent": {"parent": {"parent": where}}}
    with pytest.raises(ValidationError, match="MAX_FILTER_DEPTH"):
        parse_filter(PERSON, where)


def test_an_order_through_too_many_relations_is_a_validation_error() -> None:
    order: Any = "asc"
    order = {"name": order}
    for _ in range(MAX_RELATION_HOPS + 1):
        order = {"parent": order}
    with pytest.raises(ValidationError, match=r"order_by .*MAX_RELATION_HOPS"):
        parse_order_by(PERSON, order)


async def test_every_reader_applies_the_depth_limit() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    deep = _logical("$or", 300)
    with pytest.raises(ValidationError, match="MAX_FILTER_DEPTH"):
        await em.find(OptPerson, deep)
    with pytest.raises(ValidationError, match="MAX_FILTER_DEPTH"):
        await em.count(OptPerson, deep)
    with pytest.raises(ValidationError, match="MAX_FILTER_DEPTH"):
        await em.find_by_cursor(OptPerson, deep, order_by={"name": "asc"}, first=2)
    with pytest.raises(ValidationError, match="MAX_FILTER_DEPTH"):
        em.stream(OptPerson, deep)
    with pytest.raises(ValidationError, match="MAX_RELATION_HOPS"):
        await em.find(
            OptPerson, None, populate=["posts"], populate_where={"posts": {"person": _hops(9)}}
        )
    assert driver.log == []


# -- malformed options ---------------------------------------------------------------------

FIND_OPTIONS = [
    ({"fields": [["name"]]}, "fields takes a list of property names"),
    ({"fields": 1}, "fields takes a list of property names"),
    ({"fields": "name"}, "fields takes a list of property names"),
    ({"exclude": [1]}, "exclude takes a list of property names"),
    ({"populate": 1}, "populate takes a list of paths"),
    ({"populate": [["posts"]]}, "populate takes a list of paths"),
    ({"populate": [".".join(["parent"] * 9)]}, "populate path crosses more than"),
    ({"order_by": {"name": ["asc"]}}, "order_by name: a direction is 'asc' or 'desc'"),
    ({"order_by": {"name": True}}, "order_by name: a direction"),
    ({"order_by": {"name": 1.0}}, "order_by name: a direction"),
    ({"order_by": {"name": "asc nulls middle"}}, "order_by name: use 'nulls first'"),
    ({"order_by": {1: "asc"}}, "order_by for OptPerson: keys are property names"),
    ({"order_by": "name"}, "order_by for OptPerson takes a dict"),
    ({"lock_mode": "x"}, "lock_mode must be None or one of LockMode"),
    ({"lock_nowait": "yes"}, "lock_nowait must be True or False"),
    ({"refresh": 1}, "refresh must be True or False"),
    ({"limit": -1}, "limit must be a non-negative int"),
    ({"limit": "5"}, "limit must be a non-negative int"),
    ({"limit": True}, "limit must be a non-negative int"),
    ({"limit": 2**63}, "limit must be a non-negative int"),
    ({"limit": 2**70}, "limit must be a non-negative int"),
    ({"offset": 1.5}, "offset must be a non-negative int"),
    ({"offset": 2**63}, "offset must be a non-negative int"),
    ({"strategy": "sideways"}, "strategy='sideways' is not a loading strategy"),
]


@pytest.mark.parametrize(("options", "message"), FIND_OPTIONS)
async def test_a_malformed_find_option_names_the_argument(
    options: dict[str, Any], message: str
) -> None:
    orm, driver = await _orm()
    with pytest.raises(ValidationError, match=message):
        await orm.em.fork().find(OptPerson, None, **options)
    assert driver.log == []


async def test_the_largest_limit_and_offset_are_accepted() -> None:
    orm, _ = await _orm()
    found = await orm.em.fork().find(OptPerson, None, limit=2**63 - 1, offset=0)
    assert [p.id for p in found] == [1]


async def test_find_one_checks_its_options_on_the_identity_map_path() -> None:
    orm, driver = await _orm()
    with pytest.raises(ValidationError, match="refresh must be True or False"):
        await orm.em.fork().find_one(OptPerson, 1, refresh=0)
    with pytest.raises(ValidationError, match="populate takes a list of paths"):
        await orm.em.fork().find_one(OptPerson, 1, populate=1)
    assert driver.log == []


CURSOR_ARGUMENTS = [
    ({"order_by": "name", "first": 2}, "find_by_cursor\\(OptPerson\\) needs order_by as a"),
    ({"order_by": ["name"], "first": 2}, "needs order_by as a non-empty dict"),
    ({"order_by": {"name": ["asc"]}, "first": 2}, "order_by 'name' must be 'asc' or 'desc'"),
    ({"order_by": {1: "asc"}, "first": 2}, "order_by keys are property names"),
    ({"order_by": {"name": "asc"}, "first": -1}, "first must be an int from 0"),
    ({"order_by": {"name": "asc"}, "first": "2"}, "first must be an int from 0"),
    ({"order_by": {"name": "asc"}, "first": 2**70}, "first must be an int from 0"),
    ({"order_by": {"name": "asc"}, "last": True}, "last must be an int from 0"),
    ({"order_by": {"name": "asc"}, "first": 1, "include_count": "no"}, "include_count must"),
    ({"order_by": {"name": "asc"}, "first": 1, "after": 5}, "invalid cursor"),
]


@pytest.mark.parametrize(("arguments", "message"), CURSOR_ARGUMENTS)
async def test_a_malformed_cursor_argument_names_the_argument(
    arguments: dict[str, Any], message: str
) -> None:
    orm, driver = await _orm()
    with pytest.raises(ValidationError, match=message):
        await orm.em.fork().find_by_cursor(OptPerson, None, **arguments)
    assert driver.log == []


async def test_the_largest_cursor_page_is_accepted() -> None:
    orm, _ = await _orm()
    page = await orm.em.fork().find_by_cursor(OptPerson, order_by={"name": "asc"}, first=2**63 - 1)
    assert [p.id for p in page] == [1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "batch_size must be a positive int"),
        ({"batch_size": 2**63}, "batch_size must be a positive int"),
        ({"populate": 1}, "populate takes a list of paths"),
        ({"order_by": {"name": ["asc"]}}, "order_by name: a direction"),
    ],
)
async def test_a_malformed_stream_option_names_the_argument(
    options: dict[str, Any], message: str
) -> None:
    orm, driver = await _orm()
    with pytest.raises(ValidationError, match=message):
        orm.em.fork().stream(OptPerson, None, **options)
    assert driver.log == []


# -- values outside what every database compares the same way --------------------------------

BAD_VALUES = [
    ({"id": 2**63}, "outside the signed 64-bit range"),
    ({"id": {"$in": [1, -(2**63) - 1]}}, "outside the signed 64-bit range"),
    ({"score": {"$gt": 2**70}}, "outside the signed 64-bit range"),
    ({"price": {"$lt": 2**64}}, "outside the signed 64-bit range"),
    ({"price": Decimal("sNaN")}, "not a finite number"),
    ({"price": {"$gt": Decimal("NaN")}}, "not a finite number"),
    ({"price": {"$lt": Decimal("Infinity")}}, "not a finite number"),
    ({"price": {"$gte": Decimal("-Infinity")}}, "not a finite number"),
    ({"price": math.inf}, "not a finite number"),
    ({"score": math.nan}, "not a finite number"),
    ({"score": {"$ne": -math.inf}}, "not a finite number"),
    ({"title": "a\ud800b"}, "lone surrogate"),
    ({"title": {"$like": "a\x00%"}}, "NUL character"),
    ({"person": 2**63}, "outside the signed 64-bit range"),
    ({"score": Decimal("1e400")}, "too large for a float property"),
]


JSON_VALUES = [
    (Decimal("1"), "a JSON value holds dicts, lists"),
    ({"a": [1, {"b": object()}]}, "got a object"),
    ({1: "x"}, "JSON object keys are str"),
    ({"a": math.nan}, "not a finite number"),
    (["a\x00"], "NUL character"),
]


@pytest.mark.parametrize(("where", "message"), BAD_VALUES)
async def test_a_value_no_database_compares_alike_is_a_validation_error(
    where: dict[str, Any], message: str
) -> None:
    orm, driver = await _orm()
    with pytest.raises(ValidationError, match=message):
        await orm.em.fork().find(OptPost, where)
    assert driver.log == []


@pytest.mark.parametrize(("value", "message"), JSON_VALUES)
@pytest.mark.parametrize("operator", ["$eq", "$contains"])
def test_a_json_filter_value_that_is_not_json_is_a_validation_error(
    value: Any, message: str, operator: str
) -> None:
    with pytest.raises(ValidationError, match=f"OptPost.data \\{operator}: .*{message}"):
        parse_filter(POST, {"data": {operator: value}})


def test_a_json_value_nested_too_deep_is_a_validation_error() -> None:
    value: Any = 1
    for _ in range(MAX_JSON_DEPTH + 1):
        value = [value]
    with pytest.raises(ValidationError, match=f"MAX_JSON_DEPTH = {MAX_JSON_DEPTH}"):
        parse_filter(POST, {"data": {"$contains": value}})


def test_the_edges_of_the_64_bit_range_are_accepted() -> None:
    meta = POST
    assert parse_filter(meta, {"id": {"$in": [2**63 - 1, -(2**63)]}}) is not None
    assert parse_filter(meta, {"price": Decimal("-0.00"), "score": 1e308}) is not None
