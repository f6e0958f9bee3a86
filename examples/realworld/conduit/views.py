"""The API's response shapes, built from entities and the per-page facts the repositories read.

``to_dict`` writes the scalar columns (timestamps already in the API's names and format);
the fields that depend on who asks (``following``, ``favorited``) and the counts are added here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orm.core import to_dict

from .entities import Article, Comment, User


@dataclass(frozen=True)
class ViewerFacts:
    """What one request's viewer sees of a set of articles and users (ids)."""

    followed: set[int] = field(default_factory=set[int])
    favorited: set[int] = field(default_factory=set[int])
    favorite_counts: dict[int, int] = field(default_factory=dict[int, int])


def user_view(user: User, token: str) -> dict[str, Any]:
    return {
        "email": user.email,
        "token": token,
        "username": user.username,
        "bio": user.bio,
        "image": user.image,
    }


def profile_view(user: User, *, following: bool) -> dict[str, Any]:
    return {"username": user.username, "bio": user.bio, "image": user.image, "following": following}


def article_view(article: Article, facts: ViewerFacts) -> dict[str, Any]:
    data = to_dict(article, exclude=["id", "author", "tags"])
    data["tagList"] = sorted(tag.name for tag in article.tags)
    data["favorited"] = article.id in facts.favorited
    data["favoritesCount"] = facts.favorite_counts.get(article.id, 0)
    data["author"] = profile_view(article.author, following=article.author.id in facts.followed)
    return data


def articles_view(articles: Sequence[Article], total: int, facts: ViewerFacts) -> dict[str, Any]:
    return {
        "articles": [article_view(article, facts) for article in articles],
        "articlesCount": total,
    }


def comment_view(comment: Comment, facts: ViewerFacts) -> dict[str, Any]:
    data = to_dict(comment, exclude=["article", "author"])
    data["author"] = profile_view(comment.author, following=comment.author.id in facts.followed)
    return data
