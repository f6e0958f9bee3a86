"""Comments of an article: /articles/{slug}/comments[/{id}]."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from ..dependencies import Articles, Comments, OptionalSession, RequiredSession, Users
from ..entities import Comment
from ..errors import forbidden, not_found
from ..payloads import NewCommentRequest
from ..views import ViewerFacts, comment_view
from .articles import find_article

router = APIRouter(tags=["comments"])


@router.get("/articles/{slug}/comments")
async def list_comments(
    slug: str, users: Users, articles: Articles, comments: Comments, session: OptionalSession
) -> dict[str, Any]:
    article = await find_article(articles, slug)
    found = await comments.of_article(article)
    viewer = session.user if session else None
    facts = ViewerFacts(followed=await users.followed_by(viewer, [c.author for c in found]))
    return {"comments": [comment_view(comment, facts) for comment in found]}


@router.post("/articles/{slug}/comments")
async def add_comment(
    slug: str,
    payload: NewCommentRequest,
    articles: Articles,
    comments: Comments,
    session: RequiredSession,
) -> dict[str, Any]:
    article = await find_article(articles, slug)
    comment = Comment(body=payload.comment.body, article=article, author=session.user)
    comments.persist(comment)
    await comments.em.flush()  # the response carries the new comment's id
    # Nobody follows themselves: the author of a new comment is not "followed".
    return {"comment": comment_view(comment, ViewerFacts())}


@router.delete("/articles/{slug}/comments/{comment_id}", status_code=204)
async def delete_comment(
    slug: str, comment_id: int, articles: Articles, comments: Comments, session: RequiredSession
) -> Response:
    article = await find_article(articles, slug)
    comment = await comments.find_one({"id": comment_id, "article": article}, populate=["author"])
    if comment is None:
        raise not_found(f"comment {comment_id} of article {slug!r}")
    if comment.author is not session.user:
        raise forbidden(f"only the author of comment {comment_id} can delete it")
    comments.remove(comment)
    return Response(status_code=204)
