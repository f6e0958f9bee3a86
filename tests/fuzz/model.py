"""The entities and rows the fuzz suite queries, the same on every database.

The rows are chosen to sit on the edges the fuzzer aims at: hostile strings (quotes, ``;``,
comment markers, ``$`` keys, backslashes, LIKE wildcards), non-ASCII letters, floats that
round (2.0 vs 2.4), decimals finer than a cent, zero and negative numbers, NULLs and nested JSON.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from orm.core import (
    Collection,
    EntityManager,
    ManyToMany,
    ManyToOne,
    OneToMany,
    PrimaryKey,
    Property,
    entity,
)


@entity(table="fz_author")
class FzAuthor:
    id: int = PrimaryKey(autoincrement=False, init=True)
    name: str = Property(length=60)
    age: int | None = None
    notes: Collection[FzNote] = OneToMany("FzNote", mapped_by="author")


@entity(table="fz_tag")
class FzTag:
    id: int = PrimaryKey(autoincrement=False, init=True)
    name: str = Property(length=60)
    notes: Collection[FzNote] = ManyToMany("FzNote", mapped_by="tags")


@entity(table="fz_note")
class FzNote:
    id: int = PrimaryKey(autoincrement=False, init=True)
    title: str = Property(length=80)
    body: str | None = None
    rating: float = 0.0
    price: Decimal = Property(precision=12, scale=3, default=Decimal("0"))
    count: int = 0
    flag: bool = False
    day: dt.date = dt.date(2026, 1, 1)
    meta: dict[str, Any] | None = None
    author: FzAuthor = ManyToOne(FzAuthor)
    tags: Collection[FzTag] = ManyToMany(FzTag, inversed_by="notes")


ENTITIES = [FzAuthor, FzTag, FzNote]

HOSTILE = [
    "x' OR '1'='1",
    "'; DROP TABLE fz_note; --",
    "Robert'); DELETE FROM fz_author; --",
    "/* evil */ OR 1=1 /*",
    "-- comment\nOR 1=1",
    "$1 OR $2; SELECT 1",
    "$where",
    "back\\slash\\' OR 1=1 --",
    '"double"; DROP TABLE "fz_tag"',
    "100% _wild_ %s %(name)s :name ?",
    ") ; DELETE FROM fz_note; SELECT (",
    "\\%",
    "a_b%c",
]
WORDS = ["alpha", "Beta", "gamma", "école", "ÉCOLE", "straße", "Ωmega", "", " ", "a", "A"]
TITLES = [*HOSTILE, *WORDS]
RATINGS = [0.0, 2.0, 2.4, -1.5, 1e10, 0.5, 3.0]
PRICES = [Decimal("10.00"), Decimal("10.001"), Decimal("0.001"), Decimal("-5.5"), Decimal("0")]
COUNTS = [0, 1, -1, 2, 1000, 2**31 - 1, -(2**31)]
DAYS = [dt.date(2026, 1, 1), dt.date(1999, 12, 31), dt.date(2026, 6, 15)]
METAS: list[dict[str, Any] | None] = [
    None,
    {"size": 3, "tags": ["x", "y"]},
    {"size": 5, "tags": ["y"], "nested": {"deep": True}},
    {"size": 0, "tags": [], "name": "x' OR '1'='1"},
    {"kind": "a", "nested": {"deep": False, "n": 2}},
]
AUTHOR_NAMES = ["Ann", "bob", "Ünal", "x' OR '1'='1", "O'Brien"]
TAG_NAMES = ["red", "Green", "blue; --", "$in"]


async def seed(em: EntityManager) -> None:
    """The same rows, with the same keys, on every database."""
    authors = [
        FzAuthor(id=i + 1, name=name, age=None if i % 3 == 0 else 20 + i)
        for i, name in enumerate(AUTHOR_NAMES)
    ]
    tags = [FzTag(id=i + 1, name=name) for i, name in enumerate(TAG_NAMES)]
    for index, title in enumerate(TITLES):
        note = FzNote(
            id=index + 1,
            title=title,
            body=None if index % 4 == 0 else TITLES[(index * 7) % len(TITLES)],
            rating=RATINGS[index % len(RATINGS)],
            price=PRICES[index % len(PRICES)],
            count=COUNTS[index % len(COUNTS)],
            flag=index % 2 == 0,
            day=DAYS[index % len(DAYS)],
            meta=METAS[index % len(METAS)],
            author=authors[index % len(authors)],
        )
        for offset in range(index % 3):
            note.tags.add(tags[(index + offset) % len(tags)])
        em.persist(note)
    em.persist(tags)
    await em.flush()
