"""The list endpoints send a fixed number of statements, whatever the page size (no N+1)."""

from __future__ import annotations

from typing import Any

from tests.conftest import recording_statements
from tests.realworld.conftest import Conduit
from tests.realworld.seed import seed_articles


async def selects_for(conduit: Conduit, path: str, token: str | None) -> tuple[int, Any]:
    """The number of SELECTs a GET sends (the session lookup included), and its JSON body."""
    with recording_statements() as log:
        response = await conduit.call("GET", path, token=token)
    assert response.status_code == 200, response.text
    return log.count("SELECT"), response.json()


async def test_articles_list_takes_the_same_selects_for_2_or_20_articles(conduit: Conduit) -> None:
    token = await conduit.register("viewer")
    await seed_articles(conduit.fork(), viewer_name="viewer", authors=6, articles=30)

    small, small_body = await selects_for(conduit, "/articles?limit=2", token)
    large, large_body = await selects_for(conduit, "/articles?limit=20", token)

    assert len(small_body["articles"]) == 2
    assert len(large_body["articles"]) == 20
    assert large_body["articlesCount"] == 30
    # session user, count, page, authors, tags, followed, favorited, favorite counts
    assert small == large == 8
    first = large_body["articles"][0]
    assert first["slug"] == "article-29"
    assert first["favoritesCount"] == 1
    assert first["tagList"] == ["tag0", "tag4"]


async def test_articles_list_for_a_guest_skips_the_viewer_queries(conduit: Conduit) -> None:
    await conduit.register("viewer")
    await seed_articles(conduit.fork(), viewer_name="viewer", authors=4, articles=25)
    small, _ = await selects_for(conduit, "/articles?limit=3", None)
    large, body = await selects_for(conduit, "/articles?limit=20&tag=tag1", None)
    # count, page, authors, tags, favorite counts
    assert small == large == 5
    assert body["articlesCount"] == 10
    assert all("tag1" in article["tagList"] for article in body["articles"])


async def test_feed_takes_the_same_selects_for_any_page_size(conduit: Conduit) -> None:
    token = await conduit.register("viewer")
    await seed_articles(conduit.fork(), viewer_name="viewer", authors=4, articles=40)
    small, _ = await selects_for(conduit, "/articles/feed?limit=1", token)
    large, body = await selects_for(conduit, "/articles/feed?limit=20", token)
    assert small == large == 8
    assert body["articlesCount"] == 20  # the viewer follows writer0 and writer2: half of them
    assert all(a["author"]["following"] for a in body["articles"])


async def test_comments_and_tags_take_a_fixed_number_of_selects(conduit: Conduit) -> None:
    token = await conduit.register("viewer")
    await seed_articles(conduit.fork(), viewer_name="viewer", authors=3, articles=5)
    for i in range(10):
        body = {"comment": {"body": f"more {i}"}}
        path = "/articles/article-0/comments"
        response = await conduit.call("POST", path, token=token, json=body)
        assert response.status_code == 200

    selects, body = await selects_for(conduit, "/articles/article-0/comments", token)
    assert len(body["comments"]) == 12
    # session user, article (with author and tags: 3), comments, their authors, followed
    assert selects == 7

    selects, body = await selects_for(conduit, "/tags", None)
    assert body["tags"] == [f"tag{i}" for i in range(5)]
    assert selects == 1
