"""Entities shared by the compliance tests."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from orm.core import (
    Cascade,
    Collection,
    EntityRepository,
    ManyToMany,
    ManyToOne,
    OneToMany,
    OneToOne,
    PrimaryKey,
    Property,
    entity,
)


class AuthorRepository(EntityRepository["Author"]):
    async def find_by_email(self, email: str) -> Author | None:
        return await self.find_one({"email": email})


@entity(repository=AuthorRepository)
class Author:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str = Property(unique=True)
    age: int | None = None
    born: dt.date | None = None
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)
    profile: Profile | None = OneToOne("Profile", mapped_by="author")

    def __init__(self, name: str, email: str, *, age: int | None = None) -> None:
        self.name = name
        self.email = email
        self.age = age


@entity
class Publisher:
    id: int = PrimaryKey()
    name: str
    books: Collection[Book] = OneToMany("Book", mapped_by="publisher")


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    author: Author = ManyToOne(Author)
    publisher: Publisher | None = ManyToOne(Publisher, nullable=True)
    tags: Collection[Tag] = ManyToMany("Tag", inversed_by="books")
    price: Decimal | None = Property(precision=10, scale=2, default=None)


@entity
class Tag:
    id: int = PrimaryKey()
    name: str
    books: Collection[Book] = ManyToMany(Book, mapped_by="tags")


@entity
class Profile:
    id: int = PrimaryKey()
    bio: str
    author: Author = OneToOne(Author)


@entity
class Category:
    """A self-referencing tree."""

    id: int = PrimaryKey()
    name: str
    parent: Category | None = ManyToOne("Category", nullable=True)
    children: Collection[Category] = OneToMany("Category", mapped_by="parent")


@entity
class Post:
    """Orphan removal of comments."""

    id: int = PrimaryKey()
    title: str
    comments: Collection[Comment] = OneToMany(
        "Comment", mapped_by="post", orphan_removal=True, cascade=Cascade.ALL
    )


@entity
class Comment:
    id: int = PrimaryKey()
    body: str
    post: Post = ManyToOne(Post)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@entity
class Sample:
    """One column of every supported type."""

    id: uuid.UUID = PrimaryKey(default_factory=uuid.uuid4)
    count: int = 0
    text: str = ""
    ratio: float = 0.0
    flag: bool = False
    amount: Decimal = Property(precision=12, scale=4, default=Decimal("0"))
    at: dt.datetime | None = None
    naive_at: dt.datetime | None = Property(timezone=False, default=None)
    day: dt.date | None = None
    clock: dt.time | None = None
    token: uuid.UUID | None = None
    blob: bytes | None = None
    color: Color = Color.RED
    priority: Priority = Priority.LOW
    data: dict[str, Any] | None = None
    items: list[Any] | None = None


@entity
class Country:
    """A natural string key."""

    code: str = PrimaryKey(length=2, init=True)
    name: str


@entity
class Enrollment:
    """A composite key made of two ManyToOne relations and a scalar."""

    student: Student = ManyToOne("Student", primary=True)
    course: Course = ManyToOne("Course", primary=True)
    year: int = PrimaryKey(init=True, autoincrement=False)
    grade: str | None = None


@entity
class Student:
    id: int = PrimaryKey()
    name: str


@entity
class Course:
    id: int = PrimaryKey()
    title: str


# A cycle between two tables, broken through the nullable Team.captain.
@entity
class Team:
    id: int = PrimaryKey()
    name: str
    captain: Player | None = ManyToOne("Player", nullable=True, cascade=Cascade.PERSIST)


@entity
class Player:
    id: int = PrimaryKey()
    name: str
    team: Team = ManyToOne(Team)


LIBRARY = [Author, Publisher, Book, Tag, Profile]
