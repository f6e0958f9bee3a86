"""Entity versions for the migration tests: each call returns fresh classes."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from orm.core import (
    Collection,
    Index,
    ManyToMany,
    ManyToOne,
    OneToMany,
    PrimaryKey,
    Property,
    Unique,
    entity,
)


class Status(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


class StatusV2(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


def version_1() -> list[type[Any]]:
    @entity
    class Author:
        id: int = PrimaryKey()
        name: str = Property(length=100)
        email: str = Property(unique=True)
        age: int | None = None
        active: bool = Property(server_default="true", default=True)
        books: Collection[Book] = OneToMany("Book", mapped_by="author")

    @entity
    class Book:
        id: int = PrimaryKey()
        title: str
        author: Author = ManyToOne(Author)
        price: Decimal | None = Property(precision=10, scale=2, default=None)
        status: Status = Status.DRAFT
        published: dt.datetime | None = None

    return [Author, Book]


def version_2() -> list[type[Any]]:
    """Every kind of change: added/dropped/narrowed/widened columns, index, FK action, enum
    values, a new table with a ManyToMany pivot, a server default."""

    @entity
    class Author:
        id: int = PrimaryKey()
        name: str = Property(length=50)
        email: str = Property(unique=True)
        nickname: str | None = Property(length=30, index=True, default=None)
        active: bool = Property(server_default="false", default=False)
        books: Collection[Book] = OneToMany("Book", mapped_by="author")

    @entity
    class Book:
        id: int = PrimaryKey()
        title: str
        author: Author = ManyToOne(Author, on_delete="cascade")
        price: Decimal | None = Property(precision=12, scale=2, default=None)
        status: StatusV2 = StatusV2.DRAFT
        published: dt.datetime | None = None
        tags: Collection[Tag] = ManyToMany("Tag")

    @entity
    class Tag:
        id: int = PrimaryKey()
        name: str = Property(length=40, unique=True)

    return [Author, Book, Tag]


def with_server_defaults() -> list[type[Any]]:
    @entity
    class Setting:
        id: int = PrimaryKey()
        label: str = Property(length=20, server_default="'none'")
        quoted: str = Property(length=20, server_default="'it''s'")
        count: int = Property(server_default="0")
        negative: int = Property(server_default="-1")
        ratio: float = Property(server_default="1.5")
        enabled: bool = Property(server_default="true")
        disabled: bool = Property(server_default="false")
        amount: Decimal = Property(precision=8, scale=2, server_default="0.50")

    return [Setting]


def without_table_indexes() -> list[type[Any]]:
    """The starting point of the table-level index tests: no multi-column index yet."""

    @entity
    class Writer:
        id: int = PrimaryKey()
        first_name: str = Property(length=50)
        last_name: str = Property(length=50)
        email: str = Property(length=100)

    @entity
    class Novel:
        id: int = PrimaryKey()
        title: str = Property(length=100)
        year: int
        writer: Writer = ManyToOne(Writer)

    return [Writer, Novel]


def with_table_indexes() -> list[type[Any]]:
    """``without_table_indexes`` plus table-level indexes and unique constraints, one of them
    over a ManyToOne, one with a name of its own."""

    @entity(indexes=[Index("last_name", "first_name"), Index("email", name="ix_writer_mail")])
    class Writer:
        id: int = PrimaryKey()
        first_name: str = Property(length=50)
        last_name: str = Property(length=50)
        email: str = Property(length=100)

    @entity(
        indexes=[Index("year", "title")],
        uniques=[Unique("writer", "title", name="uq_novel_by_writer"), Unique("title", "year")],
    )
    class Novel:
        id: int = PrimaryKey()
        title: str = Property(length=100)
        year: int
        writer: Writer = ManyToOne(Writer)

    return [Writer, Novel]


def with_key_part_index(declared: bool = True) -> list[type[Any]]:
    """An index declared on a ManyToOne that is part of a composite primary key (or, with
    ``declared=False``, none: MySQL/MariaDB then make one of their own for the foreign key)."""

    @entity
    class Shelf:
        id: int = PrimaryKey()

    @entity
    class Volume:
        id: int = PrimaryKey()

    @entity(indexes=[Index("volume")] if declared else [])
    class Placement:
        shelf: Shelf = ManyToOne(Shelf, primary=True)
        volume: Volume = ManyToOne(Volume, primary=True)
        position: int = 0

    return [Shelf, Volume, Placement]
