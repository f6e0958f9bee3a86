"""The viewer-dependent facts of a response, read for a whole page at once."""

from __future__ import annotations

from collections.abc import Sequence

from .entities import Article, User
from .repositories import ArticleRepository, UserRepository
from .views import ViewerFacts


async def article_facts(
    users: UserRepository,
    articles: ArticleRepository,
    viewer: User | None,
    page: Sequence[Article],
) -> ViewerFacts:
    """Favorite counts, and what ``viewer`` favorited and follows: three queries at most."""
    return ViewerFacts(
        followed=await users.followed_by(viewer, [article.author for article in page]),
        favorited=await articles.favorited_by(viewer, page),
        favorite_counts=await articles.favorite_counts(page),
    )
