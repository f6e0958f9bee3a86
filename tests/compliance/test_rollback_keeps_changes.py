"""A rollback never discards a change: after a block rolls back, what its flushes wrote is
pending again, and the next flush of the surrounding block (or of the fork) writes it.

Each kind of change (update, insert, remove, one-to-many add, orphan-removing remove,
many-to-many add and remove) is made before, inside or after a block that flushes and then
fails; the block is a savepoint inside a transaction that commits, or a transaction of its own
followed by a plain flush. The database must end up with every change, written exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from orm.core import ORM, EntityManager
from tests.compliance.conftest import MakeOrm
from tests.compliance.models import LIBRARY, Author, Book, Comment, Post, Publisher, Tag
from tests.conftest import StatementLog

ENTITIES = [*LIBRARY, Post, Comment]


@dataclass
class World:
    """The seeded rows, loaded in the fork under test."""

    ann: Author
    bob: Author
    seed: Book
    publisher: Publisher
    t1: Tag
    t2: Tag
    post: Post
    c1: Comment


async def seed(orm: ORM) -> None:
    em = orm.em.fork()
    ann, bob = Author("Ann", "ann@x.io"), Author("Bob", "bob@x.io")
    book = Book(title="Seed", author=ann)
    t1, t2 = Tag(name="t1"), Tag(name="t2")
    book.tags.add(t1)
    post = Post(title="Post")
    post.comments.add(Comment(body="c1"), Comment(body="c2"))
    em.persist([ann, bob, book, t2, Publisher(name="P"), post])
    await em.flush()


async def load(em: EntityManager) -> World:
    authors = {a.name: a for a in await em.find(Author)}
    tags = {t.name: t for t in await em.find(Tag)}
    seed_book = await em.find_one_or_fail(Book, {"title": "Seed"}, populate=["tags"])
    post = await em.find_one_or_fail(Post, {"title": "Post"}, populate=["comments"])
    c1 = next(c for c in post.comments if c.body == "c1")
    publisher = await em.find_one_or_fail(Publisher, {"name": "P"})
    return World(
        authors["Ann"], authors["Bob"], seed_book, publisher, tags["t1"], tags["t2"], post, c1
    )


async def database_state(orm: ORM) -> dict[str, Any]:
    em = orm.em.fork()
    books = await em.find(Book, populate=["tags", "author", "publisher"])
    return {
        "authors": sorted(a.name for a in await em.find(Author)),
        "books": sorted(
            (b.title, b.author.name, b.publisher.name if b.publisher else None) for b in books
        ),
        "pivots": sorted((b.title, t.name) for b in books for t in b.tags),
        "tags": sorted(t.name for t in await em.find(Tag)),
        "comments": sorted(c.body for c in await em.find(Comment)),
    }


BASE: dict[str, Any] = {
    "authors": ["Ann", "Bob"],
    "books": [("Seed", "Ann", None)],
    "pivots": [("Seed", "t1")],
    "tags": ["t1", "t2"],
    "comments": ["c1", "c2"],
}


@dataclass(frozen=True)
class Kind:
    name: str
    change: Callable[[EntityManager, World], None]
    expect: Callable[[dict[str, Any]], None]


def _update(em: EntityManager, w: World) -> None:
    w.ann.name = "Renamed"


def _expect_update(state: dict[str, Any]) -> None:
    state["authors"] = ["Bob", "Renamed"]
    state["books"] = [("Seed", "Renamed", None)]


def _insert(em: EntityManager, w: World) -> None:
    new = Author("New", "new@x.io")
    new.books.add(Book(title="Fresh"))
    em.persist(new)


def _expect_insert(state: dict[str, Any]) -> None:
    state["authors"] = ["Ann", "Bob", "New"]
    state["books"] = [("Fresh", "New", None), ("Seed", "Ann", None)]


def _remove(em: EntityManager, w: World) -> None:
    em.remove(w.bob)


def _expect_remove(state: dict[str, Any]) -> None:
    state["authors"] = ["Ann"]


def _collection_add(em: EntityManager, w: World) -> None:
    w.publisher.books.add(w.seed)


def _expect_collection_add(state: dict[str, Any]) -> None:
    state["books"] = [("Seed", "Ann", "P")]


def _collection_remove(em: EntityManager, w: World) -> None:
    w.post.comments.remove(w.c1)  # orphan removal deletes it


def _expect_collection_remove(state: dict[str, Any]) -> None:
    state["comments"] = ["c2"]


def _many_to_many_add(em: EntityManager, w: World) -> None:
    w.seed.tags.add(w.t2)


def _expect_many_to_many_add(state: dict[str, Any]) -> None:
    state["pivots"] = [("Seed", "t1"), ("Seed", "t2")]


def _many_to_many_remove(em: EntityManager, w: World) -> None:
    w.seed.tags.remove(w.t1)


def _expect_many_to_many_remove(state: dict[str, Any]) -> None:
    state["pivots"] = []


KINDS = [
    Kind("update", _update, _expect_update),
    Kind("insert", _insert, _expect_insert),
    Kind("remove", _remove, _expect_remove),
    Kind("collection-add", _collection_add, _expect_collection_add),
    Kind("collection-remove", _collection_remove, _expect_collection_remove),
    Kind("many-to-many-add", _many_to_many_add, _expect_many_to_many_add),
    Kind("many-to-many-remove", _many_to_many_remove, _expect_many_to_many_remove),
]


class Abort(Exception):
    pass


async def failing_block(em: EntityManager, work: Callable[[], None] | None) -> None:
    """A block that flushes (what is pending, plus ``work``) and then fails."""
    with pytest.raises(Abort):
        async with em.transaction():
            if work is not None:
                work()
            await em.flush()
            raise Abort


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize("when", ["before", "inside", "after"])
@pytest.mark.parametrize(
    "scope", [pytest.param("savepoint", marks=pytest.mark.capability("savepoints")), "transaction"]
)
async def test_a_rolled_back_block_keeps_every_change_pending(
    make_orm: MakeOrm, sql_log: StatementLog, kind: Kind, when: str, scope: str
) -> None:
    orm = await make_orm(ENTITIES)
    await seed(orm)
    em = orm.em.fork()
    world = await load(em)

    def change() -> None:
        kind.change(em, world)

    async def scenario() -> None:
        if when == "before":
            change()
        await failing_block(em, change if when == "inside" else None)
        if when == "after":
            change()

    if scope == "savepoint":
        async with em.transaction():
            await scenario()
    else:
        await scenario()
        await em.flush()

    expected = {key: list(value) for key, value in BASE.items()}
    kind.expect(expected)
    assert await database_state(orm) == expected
    # Written exactly once: nothing is left pending.
    sql_log.clear()
    await em.flush()
    assert sql_log.writes() == []


@pytest.mark.capability("savepoints")
async def test_changes_of_several_flushes_in_the_failed_block_are_all_pending_again(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(ENTITIES)
    await seed(orm)
    em = orm.em.fork()
    w = await load(em)
    new = Author("New", "new@x.io")
    async with em.transaction():
        with pytest.raises(Abort):
            async with em.transaction():
                w.ann.name = "First"
                em.persist(new)
                await em.flush()
                w.ann.name = "Second"  # a second update of the same row
                w.seed.tags.add(w.t2)
                await em.flush()
                em.remove(new)  # inserted by the first flush, removed by this one
                await em.flush()
                raise Abort
        # The fork is as before the block's flushes, with every change pending.
        assert new.id is None and new not in em
        assert w.ann.name == "Second" and w.ann in em
    state = await database_state(orm)
    assert state["authors"] == ["Bob", "Second"]
    assert state["pivots"] == [("Seed", "t1"), ("Seed", "t2")]


async def test_an_entity_removed_inside_the_block_is_managed_and_scheduled_again(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(ENTITIES)
    await seed(orm)
    em = orm.em.fork()
    w = await load(em)
    await failing_block(em, lambda: em.remove(w.c1))
    assert w.c1 in em
    assert w.c1 in w.post.comments  # back among the loaded items of its owner
    # Still scheduled: cancel the removal by persisting it again, and nothing is deleted.
    em.persist(w.c1)
    await em.flush()
    assert (await database_state(orm))["comments"] == ["c1", "c2"]


async def test_an_upsert_inside_a_rolled_back_block_does_not_stay_in_the_fork(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(ENTITIES)
    await seed(orm)
    em = orm.em.fork()
    w = await load(em)
    created: list[Author] = []

    with pytest.raises(Abort):
        async with em.transaction():
            created.append(await em.upsert(Author, {"name": "Up", "email": "up@x.io"}))
            await em.upsert(Author, {"name": "Ann 2", "email": "ann@x.io"})
            raise Abort
    # The inserted row is gone: its entity left the fork. The overwritten one is as before.
    assert created[0] not in em
    assert w.ann.name == "Ann"
    assert await em.find_one(Author, {"email": "up@x.io"}) is None
    assert (await database_state(orm))["authors"] == ["Ann", "Bob"]
