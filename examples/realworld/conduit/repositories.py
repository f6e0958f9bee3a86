"""Every query the app sends lives here: route handlers call these methods, never SQL.

The list readers load a page's relations with one query per relation (``populate``) and
the per-viewer facts (favorited, following, favorite counts) with one query each for the whole
page, so a page costs the same number of statements whatever its length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from orm.core import PRUNE, EntityRepository

if TYPE_CHECKING:
    from .entities import Article, Comment, Tag, User

ARTICLE_RELATIONS = ("author", "tags")


class UserRepository(EntityRepository["User"]):
    async def find_by_email(self, email: str) -> User | None:
        return await self.find_one({"email": email})

    async def find_by_username(self, username: str) -> User | None:
        return await self.find_one({"username": username})

    async def taken_fields(self, *, username: str | None, email: str | None) -> list[str]:
        """Which of ``username``/``email`` another user already has (one query)."""
        if username is None and email is None:
            return []
        clash = await self.find(
            {"$or": [{"username": username or PRUNE}, {"email": email or PRUNE}]}
        )
        taken: list[str] = []
        if username is not None and any(u.username == username for u in clash):
            taken.append("username")
        if email is not None and any(u.email == email for u in clash):
            taken.append("email")
        return taken

    async def followed_by(self, viewer: User | None, users: Sequence[User]) -> set[int]:
        """The ids among ``users`` that ``viewer`` follows, in one query (none for a guest)."""
        ids = sorted({u.id for u in users})
        if viewer is None or not ids:
            return set()
        followed = await self.find({"id": ids, "followers": {"id": viewer.id}})
        return {u.id for u in followed}


class TagRepository(EntityRepository["Tag"]):
    async def names(self) -> list[str]:
        return [tag.name for tag in await self.find_all(order_by={"name": "asc"})]

    async def find_or_add(self, names: Sequence[str]) -> list[Tag]:
        """The tags with these names, new ones created (persisted, inserted at the flush)."""
        wanted = list(dict.fromkeys(name.strip() for name in names if name.strip()))
        if not wanted:
            return []
        existing = {tag.name: tag for tag in await self.find({"name": wanted})}
        return [existing.get(name) or self.create({"name": name}) for name in wanted]


class ArticleRepository(EntityRepository["Article"]):
    async def find_page(
        self,
        *,
        tag: str | None = None,
        author: str | None = None,
        favorited: str | None = None,
        followed_by: User | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[Article], int]:
        """A page of articles, newest first, and the count of all that match the filters."""
        where: dict[str, Any] = {
            "tags": {"name": tag or PRUNE},
            "author": {
                "username": author or PRUNE,
                "followers": {"id": PRUNE if followed_by is None else followed_by.id},
            },
            "favorited_by": {"username": favorited or PRUNE},
        }
        return await self.find_and_count(
            where,
            populate=ARTICLE_RELATIONS,
            order_by={"created_at": "desc", "id": "desc"},
            limit=limit,
            offset=offset,
        )

    async def find_by_slug(self, slug: str) -> Article | None:
        return await self.find_one({"slug": slug}, populate=ARTICLE_RELATIONS)

    async def slug_exists(self, slug: str) -> bool:
        return await self.count({"slug": slug}) > 0

    async def favorite_counts(self, articles: Sequence[Article]) -> dict[int, int]:
        """``{article id: number of users who favorited it}`` for the page, in one query."""
        ids = sorted({a.id for a in articles})
        if not ids:
            return {}
        rows: list[dict[str, Any]] = await (
            self.em.create_query_builder(self.entity, "a")
            .select("a.id", "count(u.id) as favorites")
            .join("a.favorited_by", "u")
            .where({"a.id": ids})
            .group_by("a.id")
            .execute()
        )
        return {int(row["id"]): int(row["favorites"]) for row in rows}

    async def favorited_by(self, viewer: User | None, articles: Sequence[Article]) -> set[int]:
        """The ids among ``articles`` that ``viewer`` favorited, in one query."""
        ids = sorted({a.id for a in articles})
        if viewer is None or not ids:
            return set()
        favorited = await self.find({"id": ids, "favorited_by": {"id": viewer.id}})
        return {a.id for a in favorited}


class CommentRepository(EntityRepository["Comment"]):
    async def of_article(self, article: Article) -> list[Comment]:
        return await self.find(
            {"article": article}, populate=["author"], order_by={"created_at": "asc", "id": "asc"}
        )
