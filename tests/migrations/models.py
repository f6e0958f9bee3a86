"""Entity versions for the migration tests: each call returns fresh classes."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from orm.core import Collection, ManyToMany, ManyToOne, OneToMany, PrimaryKey, Property, entity


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
