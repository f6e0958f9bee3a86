"""Python values of properties as BSON values and back (orm.mongo.values), field names
(orm.mongo.naming) and ObjectId keys (orm.mongo.keys)."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from typing import Any

import pytest
from bson import Binary, Decimal128, ObjectId

from orm.core import ManyToOne, NamingStrategy, PrimaryKey, entity
from orm.core.errors import ValidationError
from orm.core.metadata.discovery import discover
from orm.core.metadata.keys_policy import KeyPolicy, bind_key_policy
from orm.core.metadata.model import EntityMetadata, ScalarKind
from orm.mongo.keys import new_object_id, stores_object_id
from orm.mongo.naming import ID_FIELD, collection_name, field_name
from orm.mongo.values import (
    canonical_json,
    document_to_row,
    from_mongo,
    key_from_mongo,
    key_to_mongo,
    row_to_document,
    to_mongo,
)
from tests.drivers.mongo.filter_model import Genre, metadata

OID = "65a1b2c3d4e5f60718293a4b"
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


@pytest.fixture(scope="module")
def metas() -> dict[str, EntityMetadata]:
    return metadata()


def test_names(metas: dict[str, EntityMetadata]) -> None:
    book, author, tag = metas["Book"], metas["Author"], metas["Tag"]
    passport = metas["Passport"]
    assert collection_name(book) == "book"
    assert ID_FIELD == "_id"
    assert field_name(book.properties["id"]) == "_id"
    assert field_name(book.properties["title"]) == "title"
    assert field_name(book.properties["author"]) == "author_id"
    assert field_name(passport.properties["holder"]) == "holder_id"
    assert field_name(book.properties["tags"]) == "tags"
    for inverse in (author.properties["books"], tag.properties["books"]):
        with pytest.raises(ValueError, match="inverse side"):
            field_name(inverse)


def test_object_id_keys(metas: dict[str, EntityMetadata]) -> None:
    key = new_object_id()
    assert re.fullmatch(r"[0-9a-f]{24}", key) and str(ObjectId(key)) == key
    tag, book = metas["Tag"], metas["Book"]
    assert stores_object_id(tag.properties["id"])
    assert stores_object_id(book.properties["tags"])  # its targets' keys
    assert not stores_object_id(tag.properties["label"])
    assert not stores_object_id(book.properties["id"])
    assert not stores_object_id(book.properties["author"])


def test_object_id_strings(metas: dict[str, EntityMetadata]) -> None:
    key = metas["Tag"].properties["id"]
    assert to_mongo(key, OID) == ObjectId(OID)
    assert from_mongo(key, ObjectId(OID)) == OID
    # A key the application chose stays a string, so it reads back as written.
    assert to_mongo(key, "my-tag") == "my-tag"
    assert to_mongo(key, OID.upper()) == OID.upper()
    assert from_mongo(key, "my-tag") == "my-tag"
    assert key_to_mongo(metas["Tag"], (OID,)) == ObjectId(OID)
    assert key_from_mongo(metas["Tag"], ObjectId(OID)) == (OID,)
    assert key_to_mongo(metas["Book"], (5,)) == 5
    assert key_from_mongo(metas["Book"], 5) == (5,)


@pytest.mark.parametrize(
    ("name", "python", "stored"),
    [
        ("pages", 12, 12),
        ("title", "x", "x"),
        ("ratio", 2, 2.0),
        ("available", False, False),
        ("price", decimal.Decimal("10.50"), Decimal128("10.50")),
        ("published", dt.date(2024, 2, 29), dt.datetime(2024, 2, 29)),
        ("opens", dt.time(9, 5), "09:05:00.000000"),
        ("opens", dt.time(23, 59, 59, 999999), "23:59:59.999999"),
        ("code", uuid.UUID(int=7), Binary.from_uuid(uuid.UUID(int=7))),
        ("blob", bytearray(b"\x00\x01"), b"\x00\x01"),
        ("genre", Genre.POEM, "poem"),
        ("data", {"b": [{"d": 1, "c": 2}], "a": None}, {"a": None, "b": [{"c": 2, "d": 1}]}),
        ("data", [3, "x", True], [3, "x", True]),
    ],
)
def test_scalar_values(
    metas: dict[str, EntityMetadata], name: str, python: Any, stored: Any
) -> None:
    prop = metas["Book"].properties[name]
    converted = to_mongo(prop, python)
    assert converted == stored and type(converted) is type(stored)
    back = from_mongo(prop, converted)
    assert back == python
    assert to_mongo(prop, None) is None and from_mongo(prop, None) is None


def test_json_objects_are_stored_with_sorted_keys() -> None:
    stored = canonical_json({"z": 1, "a": {"y": [{"b": 1, "a": 2}], "x": 0}})
    assert list(stored) == ["a", "z"]
    assert list(stored["a"]) == ["x", "y"]
    assert list(stored["a"]["y"][0]) == ["a", "b"]


def test_datetimes_keep_milliseconds_in_utc(metas: dict[str, EntityMetadata]) -> None:
    aware = metas["Book"].properties["printed_at"]
    naive = metas["Book"].properties["local_at"]
    value = dt.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=PLUS_TWO)
    stored = to_mongo(aware, value)
    assert stored == dt.datetime(2024, 5, 1, 10, 30, 15, 123000)
    assert stored.tzinfo is None
    back = from_mongo(aware, stored)
    assert back == dt.datetime(2024, 5, 1, 10, 30, 15, 123000, tzinfo=dt.UTC)
    assert back.tzinfo is dt.UTC
    local = dt.datetime(2024, 5, 1, 12, 30, 15, 999999)
    assert to_mongo(naive, local) == dt.datetime(2024, 5, 1, 12, 30, 15, 999000)
    assert from_mongo(naive, dt.datetime(2024, 5, 1, 12, 30)) == dt.datetime(2024, 5, 1, 12, 30)
    # A client created with tz_aware=True hands back aware values: the same results.
    assert from_mongo(naive, dt.datetime(2024, 5, 1, 12, tzinfo=PLUS_TWO)) == dt.datetime(
        2024, 5, 1, 10
    )
    assert from_mongo(aware, dt.datetime(2024, 5, 1, 12, tzinfo=PLUS_TWO)) == dt.datetime(
        2024, 5, 1, 10, tzinfo=dt.UTC
    )


def test_times_sort_as_text() -> None:
    times = [dt.time(10), dt.time(9, 59, 59, 999999), dt.time(0), dt.time(23, 0, 0, 1)]
    texts = [t.isoformat(timespec="microseconds") for t in times]
    assert sorted(texts) == [t.isoformat(timespec="microseconds") for t in sorted(times)]


def test_decimals_too_long_for_decimal128(metas: dict[str, EntityMetadata]) -> None:
    price = metas["Book"].properties["price"]
    with pytest.raises(ValidationError, match=r"Book\.price: .* more than the 34 significant"):
        to_mongo(price, decimal.Decimal("1." + "1" * 40))
    assert from_mongo(price, 3) == decimal.Decimal(3)


def test_uuids_read_back_from_either_representation(metas: dict[str, EntityMetadata]) -> None:
    code = metas["Book"].properties["code"]
    value = uuid.UUID(int=42)
    assert from_mongo(code, value) == value
    assert from_mongo(code, Binary.from_uuid(value)) == value


def test_to_one_relations_are_key_tuples(metas: dict[str, EntityMetadata]) -> None:
    author = metas["Book"].properties["author"]
    assert to_mongo(author, (3,)) == 3
    assert from_mongo(author, 3) == (3,)
    assert to_mongo(author, None) is None
    assert to_mongo(author, (None,)) is None
    assert from_mongo(author, None) is None


def test_many_to_many_arrays(metas: dict[str, EntityMetadata]) -> None:
    tags = metas["Book"].properties["tags"]
    assert to_mongo(tags, [(OID,)]) == [ObjectId(OID)]
    assert from_mongo(tags, [ObjectId(OID)]) == [(OID,)]


def test_rows_and_documents(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    props = [book.properties[n] for n in ("id", "title", "author", "published", "tags")]
    row = {
        "id": 1,
        "title": "Dune",
        "author": (2,),
        "published": dt.date(1965, 8, 1),
        "tags": [(OID,)],
    }
    document = row_to_document(book, props, row)
    assert document == {
        "_id": 1,
        "title": "Dune",
        "author_id": 2,
        "published": dt.datetime(1965, 8, 1),
        "tags": [ObjectId(OID)],
    }
    assert document_to_row(book, document, props) == row
    assert document_to_row(book, {"_id": 1}, props) == {
        "id": 1,
        "title": None,
        "author": None,
        "published": None,
        "tags": None,
    }


def test_tables_follow_the_key_policy() -> None:
    """A table built before the driver's key policy was bound is rebuilt after it."""

    @entity
    class Shelf:
        id: str = PrimaryKey()

    @entity
    class Item:
        id: int = PrimaryKey(autoincrement=False)
        shelf: Shelf = ManyToOne(Shelf)

    found = discover([Shelf, Item], NamingStrategy())
    shelf_meta, item_meta = found[Shelf], found[Item]
    shelf = item_meta.properties["shelf"]
    assert to_mongo(shelf, (OID,)) == OID  # not bound yet: a string key like any other
    policy = KeyPolicy(generators=((ScalarKind.STRING, new_object_id),))
    bind_key_policy([shelf_meta, item_meta], policy, "mongo").apply()
    assert to_mongo(shelf, (OID,)) == ObjectId(OID)
    assert key_to_mongo(shelf_meta, (OID,)) == ObjectId(OID)
