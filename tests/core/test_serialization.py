"""to_dict / to_json / em.serialize without a database (the fake driver counts the queries)."""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from orm.core import (
    ORM,
    Collection,
    EntityStateError,
    ManyToMany,
    ManyToOne,
    NotLoadedError,
    OneToMany,
    OneToOne,
    PrimaryKey,
    Property,
    ValidationError,
    entity,
    to_dict,
    to_json,
)
from orm.core.query.ast import SelectQuery
from orm.core.state import meta_of

from .fakes import FakeDriver, driver_of, fake_orm


class Mood(enum.Enum):
    CALM = "calm"
    LOUD = "loud"


@entity
class Writer:
    id: int = PrimaryKey()
    name: str = Property(serialized_name="fullName")
    password: str = Property(hidden=True, default="secret")
    email: str = Property(serializer=str.lower, default="")
    settings: dict[str, Any] | None = None
    novels: Collection[Novel] = OneToMany("Novel", mapped_by="writer")
    biography: Biography | None = OneToOne("Biography", mapped_by="writer")


@entity
class Novel:
    id: int = PrimaryKey()
    title: str
    writer: Writer = ManyToOne(Writer, serialized_name="author")
    labels: Collection[Label] = ManyToMany("Label", inversed_by="novels")


@entity
class Label:
    id: int = PrimaryKey()
    name: str
    novels: Collection[Novel] = ManyToMany(Novel, mapped_by="labels", hidden=True)


@entity
class Biography:
    id: int = PrimaryKey()
    text: str
    writer: Writer = OneToOne(Writer)


@entity
class Sheet:
    """Every value kind to_json converts."""

    id: uuid.UUID = PrimaryKey(default_factory=uuid.uuid4, init=True)
    at: dt.datetime | None = None
    day: dt.date | None = None
    clock: dt.time | None = None
    amount: Decimal | None = None
    blob: bytes | None = None
    mood: Mood = Mood.CALM


@entity
class Pupil:
    id: int = PrimaryKey(init=True, autoincrement=False)
    name: str


@entity
class Seat:
    """A composite key: a relation and a scalar."""

    pupil: Pupil = ManyToOne(Pupil, primary=True)
    row: int = PrimaryKey(init=True, autoincrement=False)


@entity
class Mark:
    id: int = PrimaryKey()
    seat: Seat = ManyToOne(Seat)


ENTITIES = [Writer, Novel, Label, Biography]


@pytest.fixture(autouse=True)
async def discovered() -> None:
    """Entities are usable once an ORM has discovered them, even the ones built in memory."""
    await fake_orm([*ENTITIES, Sheet, Pupil, Seat, Mark])


async def _library(writers: int = 3) -> tuple[ORM, FakeDriver]:
    """Writers 1..n, two novels each, every novel labelled with label 1; writer 1 has a bio."""
    orm = await fake_orm(ENTITIES)
    driver = driver_of(orm)
    driver.add_row(meta_of(Label), {"id": 1, "name": "classic"})
    novel_id = 0
    for w in range(1, writers + 1):
        driver.add_row(
            meta_of(Writer),
            {"id": w, "name": f"W{w}", "password": "pw", "email": f"W{w}@X.IO", "settings": None},
        )
        for _ in range(2):
            novel_id += 1
            driver.add_row(
                meta_of(Novel), {"id": novel_id, "title": f"N{novel_id}", "writer": (w,)}
            )
            driver.pivots.setdefault("Novel.labels", []).append(((novel_id,), (1,)))
    driver.add_row(meta_of(Biography), {"id": 1, "text": "born", "writer": (1,)})
    return orm, driver


def _finds(driver: FakeDriver) -> list[SelectQuery]:
    return [q for op, q in driver.log if op == "find"]


# -- to_dict ----------------------------------------------------------------------------------


async def test_scalars_hidden_serialized_name_and_serializer() -> None:
    orm, _ = await _library(writers=1)
    writer = await orm.em.fork().find_one_or_fail(Writer, 1)
    assert to_dict(writer) == {"id": 1, "fullName": "W1", "email": "w1@x.io", "settings": None}


async def test_unloaded_to_one_is_its_key_and_collections_need_populate() -> None:
    orm, driver = await _library(writers=1)
    em = orm.em.fork()
    novel = await em.find_one_or_fail(Novel, 1)
    driver.clear_log()
    assert to_dict(novel) == {"id": 1, "title": "N1", "author": 1}
    assert driver.log == []  # serializing never queries


async def test_populate_paths_serialize_loaded_relations_in_full() -> None:
    orm, _ = await _library(writers=1)
    em = orm.em.fork()
    writer = await em.find_one_or_fail(Writer, 1, populate=["novels.labels", "biography"])
    data = to_dict(writer, populate=["novels.labels", "biography"], exclude=["novels.title"])
    assert data == {
        "id": 1,
        "fullName": "W1",
        "email": "w1@x.io",
        "settings": None,
        "novels": [
            {"id": 1, "author": 1, "labels": [{"id": 1, "name": "classic"}]},
            {"id": 2, "author": 1, "labels": [{"id": 1, "name": "classic"}]},
        ],
        "biography": {"id": 1, "text": "born", "writer": 1},
    }
    # The same shape as a dict hint.
    assert to_dict(writer, populate={"novels": {"labels": True}, "biography": True}) == to_dict(
        writer, populate=["novels.labels", "biography"]
    )


async def test_loaded_but_not_asked_relations_keep_the_stable_shape() -> None:
    orm, _ = await _library(writers=1)
    em = orm.em.fork()
    writer = await em.find_one_or_fail(Writer, 1, populate=["novels", "biography"])
    # Loaded, yet not named: collections and the inverse OneToOne are left out.
    assert "novels" not in to_dict(writer) and "biography" not in to_dict(writer)


async def test_cycles_serialize_as_keys() -> None:
    orm, _ = await _library(writers=1)
    em = orm.em.fork()
    writer = await em.find_one_or_fail(Writer, 1, populate=["novels.writer"])
    data = to_dict(writer, populate=["novels.writer"])
    assert [novel["author"] for novel in data["novels"]] == [1, 1]
    novel = writer.novels[0]
    assert to_dict(novel, populate=["writer.novels"])["author"]["novels"][0] == 1


async def test_populating_what_is_not_loaded_says_how_to_load_it() -> None:
    orm, _ = await _library(writers=1)
    em = orm.em.fork()
    writer = await em.find_one_or_fail(Writer, 1)
    with pytest.raises(NotLoadedError, match=r"Writer\.novels is not loaded.*em\.serialize"):
        to_dict(writer, populate=["novels"])
    with pytest.raises(NotLoadedError, match=r"Writer\.biography is not loaded"):
        to_dict(writer, populate=["biography"])
    novel = await orm.em.fork().find_one_or_fail(Novel, 1)
    with pytest.raises(NotLoadedError, match=r"Novel\.writer is not loaded"):
        to_dict(novel, populate=["writer"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"populate": ["nope"]}, "populate='nope': Writer has no property 'nope'"),
        ({"populate": ["name"]}, "Writer has a property that is not a relation 'name'"),
        ({"populate": "novels"}, "populate takes a dict of relation names or a list"),
        ({"populate": ["novels.labels.novels"]}, r"Label\.novels is hidden"),
        ({"exclude": ["nope"]}, "exclude='nope': Writer has no property 'nope'"),
        ({"exclude": ["name.x"]}, r"Writer\.name is not a relation"),
        ({"exclude": ["novels.nope"]}, "exclude='novels.nope': Novel has no property"),
    ],
)
async def test_wrong_names_are_validation_errors(options: dict[str, Any], message: str) -> None:
    writer = Writer(name="W", email="w@x.io")
    with pytest.raises(ValidationError, match=message):
        to_dict(writer, **options)


def test_new_entities_lists_and_json_values_are_copied() -> None:
    writer = Writer(name="W", email="W@X.IO", settings={"theme": {"dark": True}})
    novel = Novel(title="T", writer=writer)
    assert to_dict(novel) == {"id": None, "title": "T", "author": None}  # no key before flush
    assert to_dict([writer], exclude=["settings"]) == [
        {"id": None, "fullName": "W", "email": "w@x.io"}
    ]
    assert to_dict(writer.novels, populate=["writer"])[0]["author"]["fullName"] == "W"
    data = to_dict(writer)
    data["settings"]["theme"]["dark"] = False
    assert writer.settings == {"theme": {"dark": True}}


def test_exclude_wins_over_populate_and_drops_relations() -> None:
    writer = Writer(name="W")
    writer.novels.add(Novel(title="T"))
    assert "novels" not in to_dict(writer, populate=["novels"], exclude=["novels"])
    novel = writer.novels[0]
    assert to_dict(novel, exclude=["writer", "id"]) == {"title": "T"}


def test_a_composite_key_serializes_as_a_list() -> None:
    pupil = Pupil(id=7, name="P")
    mark = Mark(seat=Seat(pupil=pupil, row=3))
    mark.id = 1
    assert to_dict(mark) == {"id": 1, "seat": [7, 3]}
    assert to_dict(mark, populate=["seat.pupil"]) == {
        "id": 1,
        "seat": {"pupil": {"id": 7, "name": "P"}, "row": 3},
    }


async def test_an_unloaded_reference_cannot_be_serialized_in_full() -> None:
    orm, _ = await _library(writers=1)
    reference = orm.em.fork().get_reference(Writer, 1)
    with pytest.raises(NotLoadedError, match="unloaded reference"):
        to_dict(reference)
    with pytest.raises(ValidationError, match="to_dict takes an entity"):
        to_dict({"id": 1})


@entity
class Clash:
    id: int = PrimaryKey()
    first: str = Property(serialized_name="name")
    name: str = ""


async def test_two_properties_under_one_key_are_an_error() -> None:
    await fake_orm([Clash])
    with pytest.raises(ValidationError, match=r"Clash\.first and Clash\.name .* 'name'"):
        to_dict(Clash(first="a"))


# -- to_json ----------------------------------------------------------------------------------


def test_to_json_writes_every_value_kind() -> None:
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    sheet = Sheet(
        id=key,
        at=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        day=dt.date(2024, 5, 1),
        clock=dt.time(8, 15),
        amount=Decimal("12.50"),
        blob=b"\x00\xff",
        mood=Mood.LOUD,
    )
    assert json.loads(to_json(sheet)) == {
        "id": str(key),
        "at": "2024-05-01T12:30:00+00:00",
        "day": "2024-05-01",
        "clock": "08:15:00",
        "amount": "12.50",
        "blob": "AP8=",
        "mood": "loud",
    }


def test_to_json_of_lists_and_of_serialized_data() -> None:
    writers = [Writer(name="A"), Writer(name="B")]
    assert [w["fullName"] for w in json.loads(to_json(writers, exclude=["email"]))] == ["A", "B"]
    assert json.loads(to_json({"when": dt.date(2024, 1, 2)})) == {"when": "2024-01-02"}
    assert to_json([]) == "[]"
    with pytest.raises(ValidationError, match="cannot write a object value"):
        to_json({"x": object()})
    with pytest.raises(ValidationError, match="applies to entities"):
        to_json({"x": 1}, exclude=["x"])


# -- em.serialize -----------------------------------------------------------------------------


async def test_serialize_loads_one_query_per_level_then_serializes() -> None:
    orm, driver = await _library(writers=3)
    em = orm.em.fork()
    writers = await em.find(Writer, order_by={"id": "asc"})
    driver.clear_log()
    data = await em.serialize(writers, {"novels": {"labels": True}})
    assert len(_finds(driver)) == 2  # novels of the 3 writers, then labels of the 6 novels
    assert [len(w["novels"]) for w in data] == [2, 2, 2]
    assert data[2]["novels"][1]["labels"] == [{"id": 1, "name": "classic"}]
    driver.clear_log()
    assert await em.serialize(writers, ["novels.labels"]) == data
    assert _finds(driver) == []  # everything was loaded: nothing is read again


async def test_serialize_loads_to_one_references_in_one_query() -> None:
    orm, driver = await _library(writers=3)
    em = orm.em.fork()
    novels = await em.find(Novel, order_by={"id": "asc"})
    driver.clear_log()
    data = await em.serialize(novels, ["writer"], exclude=["writer.email"])
    assert len(_finds(driver)) == 1
    assert [n["author"]["fullName"] for n in data] == ["W1", "W1", "W2", "W2", "W3", "W3"]
    assert "email" not in data[0]["author"]


async def test_serialize_one_entity_and_its_errors() -> None:
    orm, driver = await _library(writers=1)
    em = orm.em.fork()
    writer = await em.find_one_or_fail(Writer, 1)
    assert (await em.serialize(writer, {"biography": True}))["biography"]["text"] == "born"
    assert await em.serialize([], ["novels"]) == []
    with pytest.raises(ValidationError, match=r"em\.serialize\(shape\) takes a dict"):
        await em.serialize(writer, "novels")
    driver.clear_log()
    with pytest.raises(ValidationError, match=r"Label\.novels is hidden"):
        await em.serialize(writer, ["novels.labels.novels"])
    assert driver.log == []  # checked before loading anything
    with pytest.raises(EntityStateError, match=r"em\.serialize.*Writer.*not managed"):
        await orm.em.fork().serialize(writer, ["novels"])
