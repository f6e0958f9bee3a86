"""Lifecycle hooks and event subscribers on every database: their order, what a hook changes
is written by the same flush, subscribers limited to entities, flush events that add
entities, and transaction events (after_commit never after a rollback)."""

from __future__ import annotations

from typing import Any

import pytest

from orm.core import (
    ChangeSet,
    EventArgs,
    EventSubscriber,
    FlushEventArgs,
    PrimaryKey,
    Property,
    TransactionEventArgs,
    UniqueConstraintViolation,
    entity,
)

from ..conftest import StatementLog
from .conftest import MakeOrm

CALLS: list[tuple[str, Any]] = []


@entity(table="ev_article")
class Article:
    id: int = PrimaryKey()
    title: str = Property(unique=True)
    slug: str = ""
    edits: int = 0

    def on_init(self) -> None:
        CALLS.append(("on_init", self.title))

    def on_load(self, args: EventArgs) -> None:
        assert args.em is not None and args.entity is self
        CALLS.append(("on_load", self.title))

    async def before_create(self) -> None:
        self.slug = self.title.lower().replace(" ", "-")
        CALLS.append(("before_create", self.title))

    def after_create(self) -> None:
        CALLS.append(("after_create", self.id))

    def before_update(self, args: EventArgs) -> None:
        assert args.changes is not None
        self.edits += 1
        CALLS.append(("before_update", sorted(args.changes)))

    def after_update(self, args: EventArgs) -> None:
        assert args.changes is not None
        CALLS.append(("after_update", sorted(args.changes)))

    def before_delete(self) -> None:
        CALLS.append(("before_delete", self.id))

    def after_delete(self) -> None:
        CALLS.append(("after_delete", self.id))

    @classmethod
    def before_upsert(cls, row: dict[str, Any]) -> None:
        row.setdefault("slug", str(row["title"]).lower())
        CALLS.append(("before_upsert", row["title"]))

    def after_upsert(self) -> None:
        CALLS.append(("after_upsert", self.slug))


@entity(table="ev_comment")
class Comment:
    id: int = PrimaryKey()
    text: str


@entity(table="ev_audit")
class Audit:
    id: int = PrimaryKey()
    what: str


ENTITIES = [Article, Comment, Audit]


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    CALLS.clear()


class Recorder(EventSubscriber):
    def __init__(self, name: str) -> None:
        self.name = name

    def after_create(self, args: EventArgs) -> None:
        CALLS.append((self.name, type(args.entity).__name__))


class Transactions:
    def before_commit(self, args: TransactionEventArgs) -> None:
        CALLS.append(("before_commit", None))

    async def after_commit(self, args: TransactionEventArgs) -> None:
        CALLS.append(("after_commit", None))

    def after_rollback(self, args: TransactionEventArgs) -> None:
        CALLS.append(("after_rollback", None))


async def test_hooks_run_in_order_and_their_changes_go_in_the_same_flush(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    article = Article(title="Hello World")
    em.persist(article)
    sql_log.clear()
    await em.flush()
    assert sql_log.write_operations() == ["INSERT"]  # the slug went with the insert
    assert [
        ("on_init", "Hello World"),
        ("before_create", "Hello World"),
        ("after_create", article.id),
    ] == CALLS
    CALLS.clear()
    article.title = "Hello Again"
    sql_log.clear()
    await em.flush()
    assert sql_log.write_operations() == ["UPDATE"]  # edits changed by the hook, same UPDATE
    assert CALLS == [("before_update", ["title"]), ("after_update", ["edits", "title"])]
    CALLS.clear()
    loaded = await orm.em.fork().find_one_or_fail(Article, article.id)
    assert (loaded.slug, loaded.edits) == ("hello-world", 1)
    assert CALLS == [("on_init", "Hello Again"), ("on_load", "Hello Again")]
    CALLS.clear()
    em.remove(article)
    await em.flush()
    assert [("before_delete", article.id), ("after_delete", article.id)] == CALLS


async def test_upsert_hooks(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    upserted = await em.upsert(Article, {"title": "Up"}, on_conflict=["title"])
    assert upserted.slug == "up"
    assert CALLS[0] == ("before_upsert", "Up")
    assert ("after_upsert", "up") in CALLS


async def test_subscribers_can_be_limited_to_entities(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    orm.events.subscribe(Recorder("articles"), entities=[Article])
    orm.events.subscribe(Recorder("everything"))
    em = orm.em.fork()
    em.persist([Article(title="A"), Comment(text="c")])
    await em.flush()
    recorded = [call for call in CALLS if call[0] in ("articles", "everything")]
    assert sorted(recorded) == [
        ("articles", "Article"),
        ("everything", "Article"),
        ("everything", "Comment"),
    ]


class AuditTrail:
    """Adds an Audit entity for each new article, in the flush that inserts the article."""

    def __init__(self) -> None:
        self.seen: list[ChangeSet] = []

    def on_flush(self, args: FlushEventArgs) -> None:
        assert args.change_set is not None
        self.seen.append(args.change_set)
        for item in args.change_set.inserts:
            if isinstance(item, Article):
                args.em.persist(Audit(what=f"created {item.title}"))

    def after_flush(self, args: FlushEventArgs) -> None:
        CALLS.append(("after_flush", len(args.change_set.inserts) if args.change_set else None))


async def test_a_flush_event_adds_entities_to_the_same_flush(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    trail = AuditTrail()
    orm = await make_orm(ENTITIES, subscribers=[trail])
    em = orm.em.fork()
    em.persist([Article(title="One"), Article(title="Two")])
    sql_log.clear()
    await em.flush()
    assert sorted(sql_log.targets_of("INSERT")) == ["ev_article", "ev_audit"]
    assert sql_log.count("BEGIN") <= 1 and sql_log.count("COMMIT") <= 1  # one transaction
    audits = await orm.em.fork().find(Audit, order_by={"what": "asc"})
    assert [a.what for a in audits] == ["created One", "created Two"]
    assert len(trail.seen) == 1 and len(trail.seen[0].inserts) == 2
    assert CALLS[-1] == ("after_flush", 4)


@pytest.mark.capability("transactions")
async def test_after_commit_runs_only_when_the_commit_succeeded(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES, subscribers=[Transactions()])
    em = orm.em.fork()
    em.persist(Article(title="Same"))
    await em.flush()
    assert [c for c, _ in CALLS if c.endswith(("commit", "rollback"))] == [
        "before_commit",
        "after_commit",
    ]
    CALLS.clear()
    other = orm.em.fork()
    other.persist(Article(title="Same"))
    with pytest.raises(UniqueConstraintViolation):
        await other.flush()
    assert [c for c, _ in CALLS if c.endswith(("commit", "rollback"))] == ["after_rollback"]


@pytest.mark.capability("transactions")
async def test_transaction_blocks_send_commit_and_rollback_events_once(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES, subscribers=[Transactions()])
    em = orm.em.fork()
    async with em.transaction():
        em.persist(Article(title="In a block"))
        await em.flush()  # a flush inside the block sends no events of its own
        em.persist(Comment(text="more"))
    assert [c for c, _ in CALLS if c.endswith(("commit", "rollback"))] == [
        "before_commit",
        "after_commit",
    ]
    CALLS.clear()
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with em.transaction():
            em.persist(Comment(text="never"))
            raise RuntimeError("changed my mind")
    assert [c for c, _ in CALLS if c.endswith(("commit", "rollback"))] == ["after_rollback"]
    assert await orm.em.fork().count(Comment) == 1
