"""Articles, the feed and favorites: /articles, /articles/feed, /articles/{slug}[/favorite]."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from ..dependencies import Articles, OptionalSession, RequiredSession, Tags, Users
from ..entities import Article, User
from ..errors import forbidden, not_found
from ..facts import article_facts
from ..payloads import NewArticleRequest, UpdateArticleRequest
from ..slugs import slugify, with_suffix
from ..views import article_view, articles_view

router = APIRouter(tags=["articles"])

Limit = Annotated[int, Query(ge=0, le=100)]
Offset = Annotated[int, Query(ge=0)]


async def find_article(articles: Articles, slug: str) -> Article:
    article = await articles.find_by_slug(slug)
    if article is None:
        raise not_found(f"article {slug!r}")
    return article


def _check_author(article: Article, user: User, action: str) -> None:
    if article.author is not user:
        raise forbidden(f"only the author of article {article.slug!r} can {action} it")


async def _one(
    article: Article, users: Users, articles: Articles, viewer: User | None
) -> dict[str, Any]:
    facts = await article_facts(users, articles, viewer, [article])
    return {"article": article_view(article, facts)}


async def _unique_slug(articles: Articles, title: str) -> str:
    slug = slugify(title)
    return with_suffix(slug) if await articles.slug_exists(slug) else slug


@router.get("/articles")
async def list_articles(
    users: Users,
    articles: Articles,
    session: OptionalSession,
    tag: str | None = None,
    author: str | None = None,
    favorited: str | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict[str, Any]:
    viewer = session.user if session else None
    page, total = await articles.find_page(
        tag=tag, author=author, favorited=favorited, limit=limit, offset=offset
    )
    return articles_view(page, total, await article_facts(users, articles, viewer, page))


@router.get("/articles/feed")
async def feed(
    users: Users,
    articles: Articles,
    session: RequiredSession,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict[str, Any]:
    page, total = await articles.find_page(followed_by=session.user, limit=limit, offset=offset)
    return articles_view(page, total, await article_facts(users, articles, session.user, page))


@router.post("/articles", status_code=201)
async def create_article(
    payload: NewArticleRequest,
    users: Users,
    articles: Articles,
    tags: Tags,
    session: RequiredSession,
) -> dict[str, Any]:
    data = payload.article
    article = Article(
        slug=await _unique_slug(articles, data.title),
        title=data.title,
        description=data.description,
        body=data.body,
        author=session.user,
    )
    article.tags.add(*await tags.find_or_add(data.tagList))
    articles.persist(article)
    await articles.em.flush()  # the facts below are read by the article's id
    return await _one(article, users, articles, session.user)


@router.get("/articles/{slug}")
async def get_article(
    slug: str, users: Users, articles: Articles, session: OptionalSession
) -> dict[str, Any]:
    article = await find_article(articles, slug)
    return await _one(article, users, articles, session.user if session else None)


@router.put("/articles/{slug}")
async def update_article(
    slug: str,
    payload: UpdateArticleRequest,
    users: Users,
    articles: Articles,
    session: RequiredSession,
) -> dict[str, Any]:
    article = await find_article(articles, slug)
    _check_author(article, session.user, "change")
    changes = payload.article
    if changes.title is not None and changes.title != article.title:
        article.title = changes.title
        article.slug = await _unique_slug(articles, changes.title)
    if changes.description is not None:
        article.description = changes.description
    if changes.body is not None:
        article.body = changes.body
    article.updated_at = dt.datetime.now(dt.UTC)
    return await _one(article, users, articles, session.user)


@router.delete("/articles/{slug}", status_code=204)
async def delete_article(slug: str, articles: Articles, session: RequiredSession) -> Response:
    article = await find_article(articles, slug)
    _check_author(article, session.user, "delete")
    articles.remove(article)
    return Response(status_code=204)


@router.post("/articles/{slug}/favorite")
async def favorite(
    slug: str, users: Users, articles: Articles, session: RequiredSession
) -> dict[str, Any]:
    article = await find_article(articles, slug)
    if article.id not in await articles.favorited_by(session.user, [article]):
        session.user.favorites.add(article)
        await articles.em.flush()  # the count below is read from the database
    return await _one(article, users, articles, session.user)


@router.delete("/articles/{slug}/favorite")
async def unfavorite(
    slug: str, users: Users, articles: Articles, session: RequiredSession
) -> dict[str, Any]:
    article = await find_article(articles, slug)
    if article.id in await articles.favorited_by(session.user, [article]):
        session.user.favorites.remove(article)
        await articles.em.flush()
    return await _one(article, users, articles, session.user)
