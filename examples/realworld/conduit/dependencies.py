"""FastAPI dependencies: the request's fork (from OrmMiddleware), repositories, the session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from orm.core import EntityManager, get_em

from .entities import Article, Comment, Tag, User
from .errors import unauthorized
from .repositories import ArticleRepository, CommentRepository, TagRepository, UserRepository
from .security import InvalidTokenError, user_id_of
from .settings import jwt_secret

TOKEN_SCHEMES = ("token", "bearer")

Em = Annotated[EntityManager, Depends(get_em)]


def user_repository(em: Em) -> UserRepository:
    return UserRepository(em, User)


def article_repository(em: Em) -> ArticleRepository:
    return ArticleRepository(em, Article)


def comment_repository(em: Em) -> CommentRepository:
    return CommentRepository(em, Comment)


def tag_repository(em: Em) -> TagRepository:
    return TagRepository(em, Tag)


Users = Annotated[UserRepository, Depends(user_repository)]
Articles = Annotated[ArticleRepository, Depends(article_repository)]
Comments = Annotated[CommentRepository, Depends(comment_repository)]
Tags = Annotated[TagRepository, Depends(tag_repository)]


@dataclass(frozen=True)
class Session:
    """The authenticated user of a request and the token it sent."""

    user: User
    token: str


async def optional_session(
    users: Users, authorization: Annotated[str | None, Header()] = None
) -> Session | None:
    """The request's session, None without an Authorization header; 401 for a bad token."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() not in TOKEN_SCHEMES or not token.strip():
        raise unauthorized("the Authorization header must be 'Token <jwt>'")
    token = token.strip()
    try:
        user_id = user_id_of(token, jwt_secret())
    except InvalidTokenError as exc:
        raise unauthorized(f"invalid token: {exc}; log in again") from exc
    user = await users.find_one({"id": user_id})
    if user is None:
        raise unauthorized("the token's user no longer exists; log in again")
    return Session(user, token)


async def required_session(
    session: Annotated[Session | None, Depends(optional_session)],
) -> Session:
    if session is None:
        raise unauthorized()
    return session


OptionalSession = Annotated[Session | None, Depends(optional_session)]
RequiredSession = Annotated[Session, Depends(required_session)]
