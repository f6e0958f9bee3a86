"""Rows for the statement-count tests, written through the ORM (no HTTP, no password hashing)."""

from __future__ import annotations

import datetime as dt

from conduit.entities import Article, Comment, Tag, User

from orm.core import EntityManager

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


async def seed_articles(
    em: EntityManager, *, viewer_name: str, authors: int, articles: int
) -> None:
    """``authors`` users (the viewer follows every other one), each article with two tags, two
    favorites and two comments."""
    viewer = await em.find_one_or_fail(User, {"username": viewer_name})
    writers = [
        User(username=f"writer{i}", email=f"writer{i}@x.org", password_hash="x")
        for i in range(authors)
    ]
    for index, writer in enumerate(writers):
        if index % 2 == 0:
            viewer.following.add(writer)
    tags = [Tag(name=f"tag{i}") for i in range(5)]
    for i in range(articles):
        writer = writers[i % authors]
        article = Article(
            slug=f"article-{i}",
            title=f"Article {i}",
            description="d",
            body="b",
            author=writer,
            created_at=START + dt.timedelta(minutes=i),
        )
        article.tags.add(tags[i % 5], tags[(i + 1) % 5])
        writer.favorites.add(article)
        if i % 3 == 0:
            viewer.favorites.add(article)
        for j in range(2):
            em.persist(Comment(body=f"comment {j}", article=article, author=writers[j % authors]))
        em.persist(article)
    em.persist(writers)
    await em.flush()
