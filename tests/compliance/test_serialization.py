"""Serialization on every database: to_dict / to_json of loaded rows, and em.serialize's shape
hints loading what is missing with one query per relation and level."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from orm.core import (
    ORM,
    Cascade,
    Collection,
    ManyToMany,
    ManyToOne,
    NotLoadedError,
    OneToMany,
    OneToOne,
    PrimaryKey,
    Property,
    entity,
    to_dict,
    to_json,
)

from ..conftest import StatementLog
from .conftest import MakeOrm


@entity
class Writer:
    id: int = PrimaryKey()
    name: str = Property(length=100, serialized_name="fullName")
    password: str = Property(length=100, hidden=True)
    email: str = Property(length=100, serializer=str.lower)
    born: dt.date | None = None
    novels: Collection[Novel] = OneToMany(
        "Novel", mapped_by="writer", cascade=Cascade.ALL, order_by={"title": "asc"}
    )
    biography: Biography | None = OneToOne("Biography", mapped_by="writer")


@entity
class Novel:
    id: int = PrimaryKey()
    title: str = Property(length=100)
    price: Decimal | None = Property(precision=10, scale=2, default=None)
    writer: Writer = ManyToOne(Writer, serialized_name="author")
    labels: Collection[Label] = ManyToMany("Label", inversed_by="novels", order_by={"name": "asc"})


@entity
class Label:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    novels: Collection[Novel] = ManyToMany(Novel, mapped_by="labels", hidden=True)


@entity
class Biography:
    id: int = PrimaryKey()
    text: str = Property(length=200)
    writer: Writer = OneToOne(Writer)


ENTITIES = [Writer, Novel, Label, Biography]


async def _seed(orm: ORM, writers: int = 3) -> None:
    """Writers W0..Wn-1 with two novels each (the second labelled twice) and a biography."""
    em = orm.em.fork()
    classic, poetry = Label(name="classic"), Label(name="poetry")
    for w in range(writers):
        writer = Writer(
            name=f"W{w}", password="pw", email=f"W{w}@X.IO", born=dt.date(1970, 1, w + 1)
        )
        writer.biography = Biography(text=f"bio {w}")
        first = Novel(title=f"W{w} A", price=Decimal("12.50"))
        second = Novel(title=f"W{w} B")
        first.labels.add(classic)
        second.labels.add(classic, poetry)
        writer.novels.add(first, second)
        em.persist(writer)
    await em.flush()


async def test_to_dict_hides_renames_maps_and_keys_unloaded_relations(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm, writers=1)
    em = orm.em.fork()
    writer = await em.find_one_or_fail(Writer, {"name": "W0"})
    novel = await em.find_one_or_fail(Novel, {"title": "W0 B"})
    sql_log.clear()
    assert to_dict(writer) == {
        "id": writer.id,
        "fullName": "W0",
        "email": "w0@x.io",
        "born": dt.date(1970, 1, 1),
    }
    assert to_dict(novel) == {"id": novel.id, "title": "W0 B", "price": None, "author": writer.id}
    assert sql_log.count("SELECT") == 0  # serializing reads nothing
    assert json.loads(to_json(writer)) == {
        "id": writer.id,
        "fullName": "W0",
        "email": "w0@x.io",
        "born": "1970-01-01",
    }


async def test_to_dict_populate_paths_and_cycles(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm, writers=1)
    em = orm.em.fork()
    writer = await em.find_one_or_fail(
        Writer, {"name": "W0"}, populate=["novels.labels", "novels.writer", "biography"]
    )
    data = to_dict(writer, populate=["novels.labels", "novels.writer", "biography"])
    assert [n["title"] for n in data["novels"]] == ["W0 A", "W0 B"]
    # The writer is being serialized further up: inside its novels it is its key.
    assert [n["author"] for n in data["novels"]] == [writer.id, writer.id]
    assert [[label["name"] for label in n["labels"]] for n in data["novels"]] == [
        ["classic"],
        ["classic", "poetry"],
    ]
    assert data["biography"]["text"] == "bio 0" and data["biography"]["writer"] == writer.id
    assert json.loads(to_json(writer, populate=["novels"], exclude=["novels.id"]))["novels"][0] == {
        "title": "W0 A",
        "price": "12.50",
        "author": writer.id,
    }
    with pytest.raises(NotLoadedError, match=r"Writer\.novels is not loaded"):
        to_dict(await orm.em.fork().find_one_or_fail(Writer, writer.id), populate=["novels"])


async def test_serialize_loads_each_level_in_one_query(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm, writers=3)
    em = orm.em.fork()
    writers = await em.find(Writer, order_by={"name": "asc"})
    sql_log.clear()
    data = await em.serialize(writers, {"novels": {"labels": True}, "biography": True})
    # novels of the 3 writers, labels of the 6 novels, the 3 biographies: never one per row.
    assert sql_log.count("SELECT") == 3
    assert [[n["title"] for n in w["novels"]] for w in data] == [
        ["W0 A", "W0 B"],
        ["W1 A", "W1 B"],
        ["W2 A", "W2 B"],
    ]
    assert [len(n["labels"]) for w in data for n in w["novels"]] == [1, 2, 1, 2, 1, 2]
    assert [w["biography"]["text"] for w in data] == ["bio 0", "bio 1", "bio 2"]
    sql_log.clear()
    assert await em.serialize(writers, ["novels.labels", "biography"]) == data
    assert sql_log.count("SELECT") == 0  # loaded already: nothing is read again


async def test_serialize_to_one_references_in_one_query(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    await _seed(orm, writers=3)
    em = orm.em.fork()
    novels = await em.find(Novel, order_by={"title": "asc"})
    sql_log.clear()
    data: list[dict[str, Any]] = await em.serialize(novels, ["writer"], exclude=["writer.born"])
    assert sql_log.count("SELECT") == 1
    assert [n["author"]["fullName"] for n in data] == ["W0", "W0", "W1", "W1", "W2", "W2"]
    assert "born" not in data[0]["author"] and "password" not in data[0]["author"]
    sql_log.clear()
    single = await em.serialize(novels[0], {"writer": {"novels": True}})
    assert sql_log.count("SELECT") == 1  # the writer's novels; the writer is loaded
    # The novel is the root, so inside its writer's novels it is its key (a cycle cut).
    assert single["author"]["novels"][0] == novels[0].id
    assert single["author"]["novels"][1]["title"] == "W0 B"
