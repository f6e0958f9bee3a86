"""The filter language evaluated in memory (orm.core.query.matching) and PRUNE in parsing."""

from __future__ import annotations

import enum
from typing import Any

import pytest

from orm.core import (
    PRUNE,
    Collection,
    ManyToOne,
    NamingStrategy,
    NotLoadedError,
    NotSupportedError,
    OneToMany,
    PrimaryKey,
    ValidationError,
    entity,
)
from orm.core.metadata.discovery import discover
from orm.core.metadata.model import EntityMetadata
from orm.core.query.ast import And, Comparison, Op, Or
from orm.core.query.filter import parse_filter, parse_order_by
from orm.core.query.matching import check_evaluable, evaluate, matches, sort_entities
from orm.core.state import Status, state_of


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


@entity
class Writer:
    id: int = PrimaryKey()
    name: str
    age: int | None = None
    mood: Mood | None = None
    data: dict[str, Any] | None = None
    novels: Collection[Novel] = OneToMany("Novel", mapped_by="writer")


@entity
class Novel:
    id: int = PrimaryKey()
    title: str
    writer: Writer | None = ManyToOne(Writer, nullable=True)


METAS: dict[type[Any], EntityMetadata] = discover([Writer, Novel], NamingStrategy())
WRITER = METAS[Writer]
NOVEL = METAS[Novel]


def check(item: object, where: Any) -> bool:
    return matches(item, parse_filter(METAS[type(item)], where))


def test_scalar_operators() -> None:
    jon = Writer(name="Jon Snow", age=30, mood=Mood.HAPPY)
    assert check(jon, {"name": "Jon Snow"})
    assert not check(jon, {"name": "jon snow"})
    assert check(jon, {"age": {"$gte": 30, "$lt": 31}})
    assert not check(jon, {"age": {"$gt": 30}})
    assert check(jon, {"age": [29, 30]}) and not check(jon, {"age": {"$nin": [30]}})
    assert check(jon, {"name": {"$like": "Jon%"}}) and not check(jon, {"name": {"$like": "jon%"}})
    assert check(jon, {"name": {"$ilike": "JON _NOW"}})
    assert check(jon, {"name": {"$like": "Jon\\%"}}) is False
    assert check(jon, {"name": {"$re": "^J.n"}})
    assert check(jon, {"mood": "happy"}) and check(jon, {"mood": {"$ne": Mood.SAD}})
    assert check(jon, {"$or": [{"age": 1}, {"name": {"$like": "%Snow"}}]})
    assert check(jon, {"$not": {"age": 1}})
    assert check(jon, {"name": {"$not": {"$like": "A%"}}})


def test_null_follows_sql_three_valued_logic() -> None:
    nobody = Writer(name="N")  # age never set: NULL
    assert check(nobody, {"age": None}) and check(nobody, {"age": {"$exists": False}})
    assert check(nobody, {"age": {"$ne": 3}})  # $ne also matches NULL
    assert check(nobody, {"age": {"$nin": [3]}})  # so does $nin
    assert not check(nobody, {"age": {"$gt": 3}})
    assert not check(nobody, {"$not": {"age": {"$gt": 3}}})  # NOT UNKNOWN is UNKNOWN
    assert not check(nobody, {"age": [3]})
    assert not check(nobody, {"age": {"$in": []}})
    condition = parse_filter(WRITER, {"age": {"$gt": 3}})
    assert condition is not None and evaluate(nobody, condition) is None
    # A NULL item leaves "not found" UNKNOWN; UNKNOWN OR TRUE is TRUE.
    thirty = Writer(name="T", age=30)
    assert not check(thirty, {"age": {"$in": [1, None]}})
    assert check(thirty, {"$or": [{"age": {"$in": [1, None]}}, {"name": "T"}]})


def test_relations_by_key_and_through_to_one() -> None:
    jon = Writer(name="Jon", age=30)
    jon.id = 7
    book = Novel(title="Wall", writer=jon)
    orphan = Novel(title="Alone")
    assert check(book, {"writer": 7}) and check(book, {"writer": jon})
    assert check(book, {"writer": {"$in": [1, 7]}}) and not check(book, {"writer": {"$ne": 7}})
    assert check(book, {"writer": {"name": {"$like": "J%"}}})
    assert check(orphan, {"writer": None}) and check(orphan, {"writer": {"$ne": 7}})
    # The missing target reads as a row of NULLs, as SQL's LEFT JOIN gives.
    assert check(orphan, {"writer": {"name": None}})
    assert not check(orphan, {"writer": {"name": "Jon"}})
    # A new target has no key yet: it equals no key.
    fresh = Novel(title="New", writer=Writer(name="Fresh"))
    assert not check(fresh, {"writer": 7}) and check(fresh, {"writer": {"$exists": True}})


def test_what_cannot_be_evaluated_in_memory_is_named() -> None:
    with pytest.raises(NotSupportedError, match=r"Writer\.novels is a to-many relation"):
        check_evaluable(parse_filter(WRITER, {"novels": {"title": "x"}}))
    with pytest.raises(NotSupportedError, match=r"Writer\.data \$contains"):
        check_evaluable(parse_filter(WRITER, {"data": {"$contains": {"a": 1}}}))
    with pytest.raises(NotSupportedError, match=r"Writer\.data \$eq"):
        check(Writer(name="x"), {"data": {"a": 1}})
    check_evaluable(parse_filter(WRITER, {"data": None, "age": {"$exists": True}}))


def test_an_unloaded_property_is_not_loaded_error() -> None:
    reference = Writer(name="x")
    del reference.__dict__["name"]
    state_of(reference).initialized = False
    state_of(reference).status = Status.MANAGED
    with pytest.raises(NotLoadedError, match=r"Writer\.name"):
        check(reference, {"name": "x"})


def test_sort_entities_puts_nulls_last_unless_asked() -> None:
    a, b, c = Writer(name="a", age=2), Writer(name="b"), Writer(name="c", age=1)
    assert sort_entities([a, b, c], parse_order_by(WRITER, {"age": "asc"})) == [c, a, b]
    assert sort_entities([a, b, c], parse_order_by(WRITER, {"age": "desc"})) == [a, c, b]
    first = parse_order_by(WRITER, {"age": "asc nulls first"})
    assert sort_entities([a, b, c], first) == [b, c, a]
    two = parse_order_by(WRITER, {"age": "asc", "name": "desc"})
    d = Writer(name="d", age=1)
    assert sort_entities([a, b, c, d], two) == [d, c, a, b]


# -- PRUNE -------------------------------------------------------------------------------------


def test_prune_drops_properties_and_operators() -> None:
    assert parse_filter(WRITER, {"name": PRUNE}) is None
    assert parse_filter(WRITER, PRUNE) is None
    assert parse_filter(WRITER, {"name": PRUNE, "age": {"$gte": PRUNE}}) is None
    age = WRITER.properties["age"]
    assert parse_filter(WRITER, {"name": PRUNE, "age": {"$gte": 3, "$lt": PRUNE}}) == Comparison(
        age, Op.GTE, 3
    )
    assert parse_filter(WRITER, {"age": {"$not": {"$gt": PRUNE}}}) is None
    assert parse_filter(NOVEL, {"writer": PRUNE, "title": {"$like": PRUNE}}) is None
    assert parse_filter(NOVEL, {"writer": {"name": PRUNE}}) is None
    assert parse_filter(NOVEL, {"writer": {"$in": PRUNE}}) is None
    assert parse_filter(WRITER, {"novels": {"$in": PRUNE}}) is None


def test_prune_empties_and_or_which_then_disappear() -> None:
    name = WRITER.properties["name"]
    assert parse_filter(WRITER, {"$or": [{"name": PRUNE}, {"age": {"$gt": PRUNE}}]}) is None
    assert parse_filter(WRITER, {"$and": [{"name": PRUNE}], "$not": PRUNE}) is None
    assert parse_filter(WRITER, {"$or": [PRUNE, {"name": "x"}]}) == Or(
        (Comparison(name, Op.EQ, "x"),)
    )
    # Written empty, an $or still matches nothing.
    assert parse_filter(WRITER, {"$or": []}) == Or(())
    both = parse_filter(WRITER, {"name": "x", "$or": [{"age": PRUNE}]})
    assert both == Comparison(name, Op.EQ, "x")
    assert isinstance(parse_filter(WRITER, {"name": "x", "age": 3}), And)


def test_prune_still_checks_names_and_refuses_list_items() -> None:
    with pytest.raises(ValidationError, match="has no property 'nmae'"):
        parse_filter(WRITER, {"nmae": PRUNE})
    with pytest.raises(ValidationError, match="unknown operator '\\$gtt'"):
        parse_filter(WRITER, {"age": {"$gtt": PRUNE}})
    with pytest.raises(ValidationError, match="PRUNE drops a whole condition"):
        parse_filter(WRITER, {"age": [1, PRUNE]})
    with pytest.raises(ValidationError, match="PRUNE drops a whole condition"):
        parse_filter(NOVEL, {"writer": {"$in": [1, PRUNE]}})
    assert repr(PRUNE) == "PRUNE"
