"""The Conduit domain: users (who follow each other), articles with tags and favorites, comments.

Timestamps serialize as the API writes them (ISO 8601 in UTC with milliseconds), under the
API's names, so ``to_dict`` gives the scalar part of every response.
"""

from __future__ import annotations

import datetime as dt

from orm.core import Collection, ManyToMany, ManyToOne, PrimaryKey, Property, entity

from .repositories import ArticleRepository, CommentRepository, TagRepository, UserRepository


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_timestamp(value: dt.datetime) -> str:
    """``2024-05-01T12:00:00.123Z``: the form the API's clients parse."""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@entity(repository=UserRepository)
class User:
    id: int = PrimaryKey()
    username: str = Property(length=100, unique=True, min_length=1)
    email: str = Property(length=255, unique=True, min_length=3)
    password_hash: str = Property(length=200, hidden=True)
    bio: str | None = Property(column_type="text", default=None)
    image: str | None = Property(length=1000, default=None)
    # Who this user follows; the pivot table user_following has (user_id, following_id).
    following: Collection[User] = ManyToMany("User", inversed_by="followers", hidden=True)
    followers: Collection[User] = ManyToMany("User", mapped_by="following", hidden=True)
    favorites: Collection[Article] = ManyToMany("Article", inversed_by="favorited_by", hidden=True)


@entity(repository=TagRepository)
class Tag:
    id: int = PrimaryKey()
    name: str = Property(length=100, unique=True, min_length=1)
    articles: Collection[Article] = ManyToMany("Article", mapped_by="tags", hidden=True)


@entity(repository=ArticleRepository)
class Article:
    id: int = PrimaryKey()
    slug: str = Property(length=300, unique=True)
    title: str = Property(length=255, min_length=1)
    description: str = Property(length=1000)
    body: str = Property(column_type="text")
    created_at: dt.datetime = Property(
        default_factory=utc_now, index=True, serialized_name="createdAt", serializer=iso_timestamp
    )
    updated_at: dt.datetime = Property(
        default_factory=utc_now, serialized_name="updatedAt", serializer=iso_timestamp
    )
    author: User = ManyToOne(User, on_delete="cascade")
    tags: Collection[Tag] = ManyToMany(Tag, inversed_by="articles", order_by={"name": "asc"})
    favorited_by: Collection[User] = ManyToMany(User, mapped_by="favorites", hidden=True)


@entity(repository=CommentRepository)
class Comment:
    id: int = PrimaryKey()
    body: str = Property(column_type="text", min_length=1)
    created_at: dt.datetime = Property(
        default_factory=utc_now, serialized_name="createdAt", serializer=iso_timestamp
    )
    updated_at: dt.datetime = Property(
        default_factory=utc_now, serialized_name="updatedAt", serializer=iso_timestamp
    )
    # Deleting an article deletes its comments in the database, with no query to load them.
    article: Article = ManyToOne(Article, on_delete="cascade")
    author: User = ManyToOne(User, on_delete="cascade")


ENTITIES = [User, Tag, Article, Comment]
