"""Compiled filters run on the MongoDB-wire server select what SQL selects.

Documents written with orm.mongo.values go into the database ``orm_test_mf`` on the server of
``ORM_MONGO_URL``; each filter is parsed, compiled and run there (``find``, or an aggregate
with its lookups), and the keys found are compared with the SQL reference computed in Python
over the same rows (tests/drivers/mongo/sql_reference.py): NULLs, NOT/AND/OR nesting, and
conditions across ManyToOne, OneToOne, OneToMany and ManyToMany relations.

The tests skip when the server does not answer within 2 s, and fail then under
``ORM_REQUIRE_DATABASES=1``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import random
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from orm.core.metadata.model import EntityMetadata
from orm.core.query.filter import parse_filter
from orm.mongo.filters import compile_filter
from orm.mongo.naming import collection_name
from orm.mongo.values import document_to_row, key_from_mongo, row_to_document
from tests.drivers.mongo.filter_model import Genre, metadata
from tests.drivers.mongo.sql_reference import Row, World

DATABASE = "orm_test_mf"
DEFAULT_URL = "mongodb://127.0.0.1:27017/orm_test"
ANSWER_WITHIN_MS = 2000
# Generous: the CI server is a Python process shared with other test runs.
OPERATION_TIMEOUT_MS = 120_000

UTC = dt.UTC
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))
TAG_KEYS = [f"65a1b2c3d4e5f60718293a{n:02x}" for n in range(1, 5)]
TAG1, TAG2, TAG3, TAG4 = TAG_KEYS

DATA: list[Any] = [
    None,
    {"a": 1, "b": [1, 2]},
    [1, 2],
    [{"a": 1}],
    {"a": {"b": 1}},
    [None, 1],
    1,
    "x",
    True,
    [[1]],
    {"a": [1]},
    {"b": 2, "a": 1},
    [1, {"a": 1}],
    {},
    [],
    {"a": None},
    {"a": True},
    1.0,
    [{"a": 1, "b": 2}, 3],
    {"a": [{"b": [1, 2]}, 3], "c": "x"},
    [{"a": [1]}],
    {"a": 1.0, "b": "1"},
]
TITLES = [
    "Dune",
    None,
    "dune",
    "a\nb",
    "100%",
    "x_y",
    "back\\slash",
    ".*+?()[]{}|^$",
    "Été",
    "ÉTÉ",
    "",
    "trail\n",
    "Dune Messiah",
    "a.b",
    "axb",
    "$where",
]


def _cycle(values: list[Any], index: int) -> Any:
    return values[index % len(values)]


def book_rows() -> list[Row]:
    rows = []
    for index, data in enumerate(DATA):
        rows.append(
            {
                "id": index + 1,
                "title": _cycle(TITLES, index),
                "pages": _cycle([100, None, 250, 0, -5, 100, 99], index),
                "ratio": _cycle([0.5, None, 2.0, -1.25, 0.5], index),
                "price": _cycle([decimal.Decimal("9.99"), None, decimal.Decimal("10.00")], index),
                "available": _cycle([True, False, None], index),
                "published": _cycle([dt.date(2001, 1, 1), dt.date(1999, 12, 31), None], index),
                "printed_at": _cycle(
                    [
                        dt.datetime(2020, 1, 1, 12, 0, 0, 500000, tzinfo=UTC),
                        None,
                        dt.datetime(2020, 1, 1, 13, 0, tzinfo=PLUS_TWO),
                        dt.datetime(2019, 6, 1, tzinfo=UTC),
                    ],
                    index,
                ),
                "local_at": _cycle([dt.datetime(2020, 1, 1, 8, 30), None], index),
                "opens": _cycle([dt.time(9), dt.time(17, 30, 0, 250), None, dt.time(0)], index),
                "code": _cycle([uuid.UUID(int=1), None, uuid.UUID(int=2)], index),
                "blob": _cycle([b"ab", None, b"b", b""], index),
                "genre": _cycle([Genre.NOVEL, Genre.POEM, None], index),
                "data": data,
                "author": _cycle([(1,), (2,), None, (3,), (1,), (4,)], index),
                "tags": _cycle(
                    [[(TAG1,), (TAG2,)], [], [(TAG3,)], [(TAG2,)], [(TAG1,), (TAG3,)]], index
                ),
            }
        )
    return rows


def world_rows() -> dict[str, list[Row]]:
    return {
        "Author": [
            {"id": 1, "name": "Ann"},
            {"id": 2, "name": None},
            {"id": 3, "name": "bob"},
            {"id": 4, "name": "Zed"},
            {"id": 5, "name": "Ann"},
        ],
        "Passport": [
            {"id": 10, "country": "FR", "holder": (1,)},
            {"id": 11, "country": None, "holder": (3,)},
            {"id": 12, "country": "DE", "holder": None},
            {"id": 13, "country": "DE", "holder": (5,)},
        ],
        "Tag": [
            {"id": TAG1, "label": "red"},
            {"id": TAG2, "label": None},
            {"id": TAG3, "label": "blue"},
            {"id": TAG4, "label": "red"},
        ],
        "Book": book_rows(),
    }


@dataclass
class Seeded:
    database: AsyncDatabase[dict[str, Any]]
    metas: dict[str, EntityMetadata]
    world: World

    async def found(self, entity: str, where: Any) -> set[Any]:
        """Keys of ``entity`` the compiled ``where`` selects on the server."""
        meta = self.metas[entity]
        compiled = compile_filter(meta, parse_filter(meta, where))
        collection = self.database[collection_name(meta)]
        if compiled.lookups:
            pipeline = [
                *compiled.lookups,
                {"$match": compiled.match},
                {"$unset": list(compiled.temporary_fields)},
            ]
            documents = await (await collection.aggregate(pipeline)).to_list()
            assert all(not set(compiled.temporary_fields) & set(d) for d in documents)
        else:
            documents = await collection.find(compiled.match).to_list()
        return {key_from_mongo(meta, d["_id"])[0] for d in documents}

    def expected(self, entity: str, where: Any) -> set[Any]:
        meta = self.metas[entity]
        condition = parse_filter(meta, where)
        assert condition is not None
        return self.world.selected(meta, condition)

    async def check(self, entity: str, where: Any) -> None:
        found, expected = await self.found(entity, where), self.expected(entity, where)
        assert found == expected, f"{entity} {where!r}: found {found}, SQL selects {expected}"


def server_url() -> str:
    return os.environ.get("ORM_MONGO_URL", DEFAULT_URL)


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


async def connect() -> AsyncMongoClient[dict[str, Any]]:
    """A client of the test server, or a skip (a failure under ORM_REQUIRE_DATABASES=1)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        with_database(server_url(), DATABASE),
        serverSelectionTimeoutMS=ANSWER_WITHIN_MS,
        connectTimeoutMS=ANSWER_WITHIN_MS,
        # Not timeoutMS: it would replace serverSelectionTimeoutMS.
        socketTimeoutMS=OPERATION_TIMEOUT_MS,
        tz_aware=False,
    )
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        await client.close()
        reason = f"no MongoDB-wire server answers at {server_url()}: {exc}"
        if os.environ.get("ORM_REQUIRE_DATABASES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seeded() -> AsyncIterator[Seeded]:
    metas = metadata()
    rows = world_rows()
    world = World()
    client = await connect()
    try:
        await client.drop_database(DATABASE)
        database = client[DATABASE]
        for entity, entity_rows in rows.items():
            meta = metas[entity]
            stored = [p for p in meta.properties.values() if p.is_persistent]
            if entity == "Book":
                stored.append(meta.properties["tags"])
            documents = [row_to_document(meta, stored, row) for row in entity_rows]
            await database[collection_name(meta)].insert_many(documents)
            world.rows[entity] = {row["id"]: row for row in entity_rows}
        world.links[("Book", "tags")] = {
            (row["id"], tag[0]) for row in rows["Book"] for tag in row["tags"]
        }
        yield Seeded(database, metas, world)
    finally:
        try:
            await client.drop_database(DATABASE)
        finally:
            await client.close()


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_documents_read_back_as_written(seeded: Seeded) -> None:
    meta = seeded.metas["Book"]
    stored = [p for p in meta.properties.values() if p.is_persistent]
    stored.append(meta.properties["tags"])
    documents = await seeded.database["book"].find({}).sort("_id").to_list()
    for document, row in zip(documents, book_rows(), strict=True):
        back = document_to_row(meta, document, stored)
        expected = dict(row)
        if expected["printed_at"] is not None:
            expected["printed_at"] = expected["printed_at"].astimezone(UTC)
        assert back == expected
        if expected["printed_at"] is not None:
            assert back["printed_at"].tzinfo is UTC


BOOK_LEAVES: list[dict[str, Any]] = [
    {"title": "Dune"},
    {"title": None},
    {"title": {"$ne": "Dune"}},
    {"title": {"$ne": None}},
    {"title": {"$in": ["Dune", "dune", "$where"]}},
    {"title": {"$in": []}},
    {"title": {"$in": [None, "Dune"]}},
    {"title": {"$nin": ["Dune", ""]}},
    {"title": {"$nin": []}},
    {"title": {"$nin": [None, "Dune"]}},
    {"title": {"$gt": "Dune"}},
    {"title": {"$lte": "a"}},
    {"title": {"$like": "D%"}},
    {"title": {"$like": "%\\%"}},
    {"title": {"$like": "x\\_y"}},
    {"title": {"$like": "x_y"}},
    {"title": {"$like": "_"}},
    {"title": {"$like": ""}},
    {"title": {"$like": "%"}},
    {"title": {"$like": "a_b"}},
    {"title": {"$like": "a.b"}},
    {"title": {"$like": "%\n"}},
    {"title": {"$like": "trail"}},
    {"title": {"$like": "back\\\\slash"}},
    {"title": {"$like": ".*+?()[]{}|^$"}},
    {"title": {"$like": "$%"}},
    {"title": {"$ilike": "été"}},
    {"title": {"$ilike": "d%e"}},
    {"title": {"$ilike": "DUNE%"}},
    {"title": {"$re": "^D"}},
    {"title": {"$re": "a.b"}},
    {"title": {"$re": "[.]"}},
    {"title": {"$re": "(un)+e$"}},
    {"title": {"$exists": True}},
    {"title": {"$exists": False}},
    {"pages": {"$gt": 50}},
    {"pages": {"$gte": 100}},
    {"pages": {"$lt": 0}},
    {"pages": {"$lte": 100}},
    {"pages": 100},
    {"pages": {"$ne": 100}},
    {"pages": {"$in": [0, 250]}},
    {"pages": {"$nin": [100, None]}},
    {"ratio": {"$gt": 0.5}},
    {"ratio": {"$lte": 0}},
    {"price": {"$gt": decimal.Decimal("9.999")}},
    {"price": decimal.Decimal("10")},
    {"available": True},
    {"available": {"$ne": True}},
    {"published": {"$gte": dt.date(2000, 1, 1)}},
    {"printed_at": {"$lt": dt.datetime(2020, 1, 1, 11, 30, tzinfo=UTC)}},
    {"printed_at": dt.datetime(2020, 1, 1, 14, 0, 0, 500000, tzinfo=PLUS_TWO)},
    {"local_at": dt.datetime(2020, 1, 1, 8, 30)},
    {"opens": {"$gt": dt.time(9)}},
    {"opens": {"$lt": dt.time(12)}},
    {"code": uuid.UUID(int=1)},
    {"code": {"$nin": [uuid.UUID(int=2)]}},
    {"blob": b"ab"},
    {"blob": {"$in": [b"", b"b"]}},
    {"genre": Genre.NOVEL},
    {"genre": {"$ne": "poem"}},
    {"data": None},
    {"data": {"$exists": True}},
    {"data": {"$eq": {"a": 1, "b": 2}}},
    {"data": {"$eq": {"b": [1, 2], "a": 1}}},
    {"data": {"$eq": [1, 2]}},
    {"data": {"$eq": [1]}},
    {"data": {"$eq": 1}},
    {"data": {"$eq": True}},
    {"data": {"$eq": "x"}},
    {"data": {"$eq": {}}},
    {"data": {"$eq": []}},
    {"data": {"$ne": [1, 2]}},
    {"data": {"$ne": 1}},
    {"data": {"$contains": {"a": 1}}},
    {"data": {"$contains": [1]}},
    {"data": {"$contains": 1}},
    {"data": {"$contains": None}},
    {"data": {"$contains": "x"}},
    {"data": {"$contains": {"a": [1]}}},
    {"data": {"$contains": {}}},
    {"data": {"$contains": []}},
    {"data": {"$contains": {"a": {"b": 1}}}},
    {"data": {"$contains": {"a": {}}}},
    {"data": {"$contains": [{"a": 1}]}},
    {"data": {"$contains": [{"a": 1}, 3]}},
    {"data": {"$contains": [1, {"a": 1}]}},
    {"data": {"$contains": {"a": None}}},
    {"data": {"$contains": {"a": True}}},
    {"data": {"$contains": {"a": [{"b": [2]}]}}},
    {"data": {"$contains": [{"a": [1]}]}},
    {"data": {"$contains": {"a": 1, "b": "1"}}},
    {"author": 1},
    {"author": None},
    {"author": [1, 2]},
    {"author": {"$ne": 1}},
    {"author": {"$nin": [1, None]}},
    {"author": {"$in": [None]}},
    {"author": {"$exists": True}},
    {"author": {"name": "Ann"}},
    {"author": {"name": None}},
    {"author": {"name": {"$ne": "Ann"}}},
    {"author": {"name": {"$nin": ["bob"]}}},
    {"author": {"name": {"$in": []}}},
    {"author": {"name": {"$exists": False}}},
    {"author": {"passport": {"country": "FR"}}},
    {"author": {"passport": {"country": None}}},
    {"author": {"books": {"pages": {"$gt": 100}}}},
    {"author": {"$not": {"books": {"pages": {"$gt": 100}}}}},
    {"tags": {"label": "red"}},
    {"tags": {"label": None}},
    {"tags": TAG1},
    {"tags": {"$in": [TAG1, TAG3]}},
    {"tags": {"books": {"title": "Dune"}}},
]


async def test_each_comparison_selects_what_sql_selects(seeded: Seeded) -> None:
    for where in BOOK_LEAVES:
        await seeded.check("Book", where)
        await seeded.check("Book", {"$not": where})


async def test_conditions_on_every_entity_and_relation_kind(seeded: Seeded) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("Author", {"books": {"pages": {"$gt": 100}}}),
        ("Author", {"books": {"title": None}}),
        ("Author", {"books": 3}),
        ("Author", {"books": {"$in": [1, 2]}}),
        ("Author", {"passport": {"country": "DE"}}),
        ("Author", {"passport": {"country": None}}),
        ("Author", {"passport": {"country": {"$ne": "FR"}}}),
        ("Author", {"passport": 10}),
        ("Author", {"books": {"tags": {"label": "red"}}, "name": {"$ne": "Zed"}}),
        ("Passport", {"holder": {"name": "Ann"}}),
        ("Passport", {"holder": None}),
        ("Passport", {"holder": {"name": {"$nin": ["Ann"]}}}),
        ("Passport", {"holder": {"books": {"data": {"$contains": [1]}}}}),
        ("Tag", {"books": {"title": "Dune"}}),
        ("Tag", {"books": {"author": {"name": None}}}),
        ("Tag", {"books": {"author": None}}),
        ("Tag", {"label": {"$in": ["red", None]}}),
        ("Tag", {"id": {"$gt": TAG2}}),
        ("Tag", {"id": [TAG1, TAG4]}),
        ("Tag", {"books": {"$in": [1, 2]}}),
    ]
    for entity, where in cases:
        await seeded.check(entity, where)
        await seeded.check(entity, {"$not": where})


def random_filter(rng: random.Random, depth: int, round_trips: int = 1) -> dict[str, Any]:
    """A random filter on Book: leaves joined by $and/$or/$not, and at most ``round_trips``
    trips through a relation and back (nested lookups are slow on the test server)."""
    if depth == 0 or rng.random() < 0.3:
        return dict(rng.choice(BOOK_LEAVES))
    shapes = ["$and", "$or", "$not", "implicit"] + (["author", "tags"] if round_trips else [])
    shape = rng.choice(shapes)
    if shape == "$not":
        return {"$not": random_filter(rng, depth - 1, round_trips)}
    if shape in ("$and", "$or"):
        items = [random_filter(rng, depth - 1, round_trips) for _ in range(rng.randint(1, 3))]
        return {shape: items}
    if shape == "implicit":
        merged: dict[str, Any] = {}
        for _ in range(2):
            merged.update(random_filter(rng, depth - 1, round_trips))
        return merged
    # Through a relation and back to books, so that the book leaves apply again.
    return {shape: {"books": random_filter(rng, depth - 1, round_trips - 1)}}


async def test_random_nestings_select_what_sql_selects(seeded: Seeded) -> None:
    rng = random.Random(20240501)
    for _ in range(120):
        await seeded.check("Book", random_filter(rng, 3))
