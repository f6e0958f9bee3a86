"""Finders that see the unit of work, and optional conditions with PRUNE (docs/querying.md).

Run it with:  uv run python examples/finders.py
Set ORM_URL to run it on another database.
"""

from __future__ import annotations

import asyncio
import os

from orm.core import ORM, PRUNE, ManyToOne, PrimaryKey, Property, entity


@entity
class Tag:
    id: int = PrimaryKey()
    name: str = Property(unique=True, length=50)
    color: str = "grey"


@entity
class Post:
    id: int = PrimaryKey()
    title: str
    likes: int = 0
    tag: Tag | None = ManyToOne(Tag, nullable=True)


async def listing(orm: ORM, title: str | None, min_likes: int | None) -> list[str]:
    """A listing endpoint: every filter is optional, and PRUNE drops the ones not given."""
    where = {
        "title": {"$like": f"%{title}%" if title else PRUNE},
        "likes": {"$gte": PRUNE if min_likes is None else min_likes},
    }
    posts = await orm.em.fork().find(Post, where, order_by={"title": "asc"})
    return [post.title for post in posts]


async def main() -> None:
    orm = await ORM.init(url=os.environ.get("ORM_URL", "sqlite://:memory:"), entities=[Tag, Post])
    await orm.schema.drop()
    await orm.schema.create()
    try:
        em = orm.em.fork()
        # Two calls in one fork: the second finds the unflushed Tag of the first.
        poetry = await em.find_or_create(Tag, {"name": "poetry"}, defaults={"color": "blue"})
        again = await em.find_or_create(Tag, {"name": "poetry"})
        assert again is poetry
        em.persist(Post(title="Ode", likes=3, tag=poetry))
        em.persist(Post(title="Sonnet", likes=10, tag=poetry))
        await em.flush()  # one Tag row, two Post rows
        print("tags:", [t.name for t in await orm.em.fork().find(Tag)])

        # A new post and an unflushed change are part of the answer before any flush.
        em.persist(Post(title="Haiku", likes=7, tag=poetry))
        ode = await em.find_one_or_fail(Post, {"title": "Ode"})
        ode.likes = 0
        popular = await em.find_with_new_or_changed(
            Post, {"likes": {"$gte": 5}}, order_by={"title": "asc"}
        )
        print("popular, with the fork's changes:", [p.title for p in popular])
        assert [p.title for p in popular] == ["Haiku", "Sonnet"]

        await em.flush()
        print("all posts:", await listing(orm, None, None))
        print("liked at least 5 times:", await listing(orm, None, 5))
        assert await listing(orm, "Son", None) == ["Sonnet"]
    finally:
        await orm.schema.drop()
        await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
