"""Entities for the filter and value tests of the MongoDB driver, with their metadata bound to
a key policy that generates ObjectId string keys (as the driver's does)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

from orm.core import (
    Collection,
    ManyToMany,
    ManyToOne,
    NamingStrategy,
    OneToMany,
    OneToOne,
    PrimaryKey,
    Property,
    entity,
)
from orm.core.metadata.discovery import discover
from orm.core.metadata.keys_policy import KeyPolicy, bind_key_policy
from orm.core.metadata.model import EntityMetadata, ScalarKind
from orm.mongo.keys import new_object_id

OBJECT_ID_KEYS = KeyPolicy(generators=((ScalarKind.STRING, new_object_id),))


class Genre(enum.Enum):
    NOVEL = "novel"
    POEM = "poem"


@entity
class Author:
    id: int = PrimaryKey(autoincrement=False)
    name: str | None
    books: Collection[Book] = OneToMany("Book", mapped_by="author")
    passport: Passport | None = OneToOne("Passport", mapped_by="holder")


@entity
class Passport:
    id: int = PrimaryKey(autoincrement=False)
    country: str | None
    holder: Author | None = OneToOne(Author, nullable=True)


@entity
class Book:
    id: int = PrimaryKey(autoincrement=False)
    title: str | None
    pages: int | None
    ratio: float | None
    price: decimal.Decimal | None
    available: bool | None
    published: dt.date | None
    printed_at: dt.datetime | None
    local_at: dt.datetime | None = Property(timezone=False)
    opens: dt.time | None
    code: uuid.UUID | None
    blob: bytes | None
    genre: Genre | None
    data: dict[str, Any] | None
    author: Author | None = ManyToOne(Author, nullable=True)
    tags: Collection[Tag] = ManyToMany("Tag")


@entity
class Tag:
    id: str = PrimaryKey()
    label: str | None
    books: Collection[Book] = ManyToMany(Book, mapped_by="tags")


ENTITIES = (Author, Passport, Book, Tag)


def metadata() -> dict[str, EntityMetadata]:
    """The entities' metadata by class name, with Tag keys generated as ObjectIds."""
    metas = discover(list(ENTITIES), NamingStrategy())
    if all(meta.key_policy is None for meta in metas.values()):
        bind_key_policy(metas.values(), OBJECT_ID_KEYS, "mongo").apply()
    return {meta.class_name: meta for meta in metas.values()}
