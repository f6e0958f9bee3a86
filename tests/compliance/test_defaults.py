"""Defaults on every database: static defaults at construction, ``@default`` methods computed
at flush in dependency order and written by the one INSERT, and server defaults read back
after the insert with no extra round trip where the database has RETURNING."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from orm.core import PrimaryKey, Property, default, entity

from ..conftest import StatementLog
from .conftest import MakeOrm

CALLS: list[str] = []


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    CALLS.clear()


@entity(table="dft_post")
class Post:
    id: int = PrimaryKey()
    title: str
    views: int = 0
    kind: str = Property(default="article", length=20)
    tags: list[str] = Property(default_factory=list)
    # default=None: the constructor (and type checkers) do not ask for what @default computes.
    slug: str = Property(default=None, length=100)
    path: str = Property(default=None, length=120)
    words: int = Property(default=None)

    @default("path", depends_on=["slug"])
    def default_path(self) -> str:
        CALLS.append(f"path {self.title}")
        return f"/{self.kind}/{self.slug}"

    @default("slug", depends_on=["title"])
    async def default_slug(self) -> str:
        CALLS.append(f"slug {self.title}")
        return self.title.lower().replace(" ", "-")

    @default("words", depends_on=["title"])
    def default_words(self) -> int:
        return len(self.title.split())


@entity(table="dft_ticket")
class Ticket:
    id: int = PrimaryKey()
    title: str = Property(length=50)
    status: str = Property(server_default="'open'", default=None, length=20)
    priority: int = Property(server_default="3", default=None)
    opened: dt.datetime = Property(server_default="CURRENT_TIMESTAMP", default=None)


@entity(table="dft_label")
class Label:
    """A client-generated key: several returned rows are paired with theirs by key."""

    id: uuid.UUID = PrimaryKey(default_factory=uuid.uuid4)
    name: str = Property(length=50)
    color: str = Property(server_default="'grey'", default=None, length=20)


async def test_static_defaults_are_visible_at_construction_and_written(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm([Post])
    post = Post(title="Static")
    assert (post.views, post.kind, post.tags) == (0, "article", [])
    em = orm.em.fork()
    em.persist(post)
    sql_log.clear()
    await em.flush()
    assert sql_log.write_operations() == ["INSERT"]
    loaded = await orm.em.fork().find_one_or_fail(Post, post.id)
    assert (loaded.views, loaded.kind, loaded.tags) == (0, "article", [])


async def test_dynamic_defaults_are_computed_at_flush_and_written_by_the_one_insert(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm([Post])
    em = orm.em.fork()
    first, second = Post(title="Hello World"), Post(title="Own Slug", slug="mine")
    assert first.slug is None and CALLS == []  # nothing is computed before the flush
    em.persist([first, second])
    sql_log.clear()
    await em.flush()
    assert sql_log.write_operations() == ["INSERT"]  # both rows, defaults included
    assert sql_log.count("SELECT") == 0
    # slug before path (path depends on it); a slug that was set is kept.
    assert CALLS == ["slug Hello World", "path Hello World", "path Own Slug"]
    assert (first.slug, first.path, first.words) == ("hello-world", "/article/hello-world", 2)
    assert (second.slug, second.path) == ("mine", "/article/mine")
    sql_log.clear()
    await em.flush()
    assert sql_log.statements == []  # the computed values are in the snapshot
    rows = await orm.em.fork().find(Post, order_by={"id": "asc"})
    assert [(p.slug, p.path, p.words) for p in rows] == [
        ("hello-world", "/article/hello-world", 2),
        ("mine", "/article/mine", 2),
    ]


@pytest.mark.capability("sql")
async def test_server_defaults_are_read_back_after_the_insert(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm([Ticket])
    em = orm.em.fork()
    plain, urgent = Ticket(title="plain"), Ticket(title="urgent", status="urgent", priority=1)
    em.persist([plain, urgent])
    sql_log.clear()
    await em.flush()
    # RETURNING brings the values back with the INSERT; without it, one SELECT by key.
    assert sql_log.write_operations() == ["INSERT", "INSERT"]  # two column sets
    assert sql_log.count("SELECT") == (0 if orm.driver.platform.returning else 1)
    assert (plain.status, plain.priority) == ("open", 3)
    assert isinstance(plain.opened, dt.datetime)
    assert (urgent.status, urgent.priority) == ("urgent", 1)
    sql_log.clear()
    await em.flush()
    assert sql_log.statements == []  # what was read back is in the snapshot
    loaded = await orm.em.fork().find_one_or_fail(Ticket, plain.id)
    assert (loaded.status, loaded.priority, loaded.opened) == ("open", 3, plain.opened)


@pytest.mark.capability("sql")
async def test_server_defaults_of_many_rows_go_to_the_right_entities(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm([Ticket, Label])
    em = orm.em.fork()
    tickets = [Ticket(title=f"t{i}") for i in range(5)]
    labels = [Label(name=f"l{i}") for i in range(5)]
    em.persist([*tickets, *labels])
    sql_log.clear()
    await em.flush()
    assert sorted(sql_log.targets_of("INSERT")) == ["dft_label", "dft_ticket"]
    assert sql_log.count("SELECT") == (0 if orm.driver.platform.returning else 2)
    assert [t.status for t in tickets] == ["open"] * 5
    assert [label.color for label in labels] == ["grey"] * 5
    stored = await orm.em.fork().find(Ticket, order_by={"id": "asc"})
    assert [(t.id, t.title) for t in stored] == [(t.id, t.title) for t in tickets]


async def test_a_server_default_property_that_is_set_is_written_as_is(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm([Label])
    em = orm.em.fork()
    label = Label(name="red", color="red")
    em.persist(label)
    sql_log.clear()
    await em.flush()
    assert sql_log.write_operations() == ["INSERT"] and sql_log.count("SELECT") == 0
    loaded = await orm.em.fork().find_one_or_fail(Label, label.id)
    assert loaded.color == "red"
