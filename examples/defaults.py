"""Defaults: static ones visible at construction, a slug and a path computed at flush by
``@default`` methods in dependency order, and server defaults read back after the insert
(docs/defaults.md).

    uv run python examples/defaults.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from orm.core import ORM, PrimaryKey, Property, default, entity


def _no_tags() -> list[str]:
    return []


@entity
class Article:
    id: int = PrimaryKey()
    title: str = Property(length=200)
    section: str = Property(default="news", length=40)  # static: set by the constructor
    tags: list[str] = Property(default_factory=_no_tags)  # static: a new list per article
    # Computed at flush by the @default methods below when left None.
    slug: str = Property(default=None, length=200)
    path: str = Property(default=None, length=250)
    # Filled in by the database when left None, and read back by the flush.
    status: str = Property(server_default="'draft'", default=None, length=20)
    created_at: dt.datetime = Property(server_default="CURRENT_TIMESTAMP", default=None)

    @default("slug", depends_on=["title"])
    def default_slug(self) -> str:
        return "-".join(self.title.lower().split())

    # Runs after default_slug, whose value it reads.
    @default("path", depends_on=["section", "slug"])
    async def default_path(self) -> str:
        return f"/{self.section}/{self.slug}"


async def main() -> None:
    orm = await ORM.init(url="sqlite://:memory:", entities=[Article])
    await orm.schema.create()

    article = Article(title="Defaults In Depth")
    print(f"constructed: section={article.section!r} tags={article.tags} slug={article.slug}")

    em = orm.em.fork()
    em.persist([article, Article(title="Hand Made", slug="my-own-slug", status="published")])
    statements: list[str] = []
    recorder = _Recorder(statements)
    logging.getLogger("orm.sql").addHandler(recorder)
    logging.getLogger("orm.sql").setLevel(logging.DEBUG)
    await em.flush()
    logging.getLogger("orm.sql").removeHandler(recorder)
    print(f"flushed with {len(statements)} statements:")
    for statement in statements:
        print(f"  {statement}")
    print(f"slug={article.slug!r} path={article.path!r}")
    print(f"read back: status={article.status!r}, created_at is set: {article.created_at!r}")
    assert article.path == "/news/defaults-in-depth" and article.status == "draft"

    mine = await orm.em.fork().find_one_or_fail(Article, {"slug": "my-own-slug"})
    print(f"kept as given: {mine.slug!r} {mine.path!r} {mine.status!r}")
    await orm.close()


class _Recorder(logging.Handler):
    """Collects the statements the orm.sql logger reports."""

    def __init__(self, statements: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.statements = statements

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage().split("  [")[0])


if __name__ == "__main__":
    asyncio.run(main())
