"""Lifecycle hooks and event subscribers: a slug set before insert, a counter kept on update,
an audit row added by a flush subscriber in the same transaction, and work that waits for
the commit (docs/events.md).

    uv run python examples/events.py
"""

from __future__ import annotations

import asyncio

from orm.core import (
    ORM,
    EventArgs,
    EventSubscriber,
    FlushEventArgs,
    PrimaryKey,
    Property,
    TransactionEventArgs,
    entity,
)


@entity
class Post:
    id: int = PrimaryKey()
    title: str = Property(length=200)
    slug: str = ""
    revisions: int = 0

    def before_create(self) -> None:
        self.slug = "-".join(self.title.lower().split())

    def before_update(self, args: EventArgs) -> None:
        if args.changes and "title" in args.changes:
            self.revisions += 1

    def on_load(self) -> None:
        print(f"  loaded post {self.id}: {self.slug!r}, revision {self.revisions}")


@entity
class AuditEntry:
    id: int = PrimaryKey()
    message: str


class AuditTrail(EventSubscriber):
    """Writes an AuditEntry for every post a flush creates, in that flush's transaction."""

    def on_flush(self, args: FlushEventArgs) -> None:
        assert args.change_set is not None
        for item in args.change_set.inserts:
            if isinstance(item, Post):
                args.em.persist(AuditEntry(message=f"created {item.title!r}"))


class Notifier(EventSubscriber):
    """Work that must only happen once the data is committed (e-mails, messages)."""

    def __init__(self) -> None:
        self.outbox: list[str] = []

    def after_commit(self, args: TransactionEventArgs) -> None:
        self.outbox.append("committed: tell the followers")

    def after_rollback(self, args: TransactionEventArgs) -> None:
        self.outbox.clear()


async def main() -> None:
    notifier = Notifier()
    orm = await ORM.init(
        url="sqlite://:memory:",
        entities=[Post, AuditEntry],
        subscribers=[AuditTrail(), notifier],
    )
    await orm.schema.create()

    em = orm.em.fork()
    post = Post(title="Hooks and Events")
    em.persist(post)
    await em.flush()
    print(f"inserted with slug {post.slug!r}; outbox: {notifier.outbox}")

    post.title = "Hooks, Events and Subscribers"
    await em.flush()
    print(f"renamed: revision {post.revisions}")

    reader = orm.em.fork()
    await reader.find_one_or_fail(Post, post.id)
    entries = await reader.find(AuditEntry)
    print("audit:", [entry.message for entry in entries])
    await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
