"""Request bodies, validated by pydantic; each wraps its fields in the API's envelope.

The field limits repeat the entities' column lengths so that an over-long value is a 422
naming the field, not a database error at the flush.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class NewUser(_Payload):
    username: str = Field(min_length=1, max_length=100)
    email: str = Field(min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=1, max_length=200)


class NewUserRequest(_Payload):
    user: NewUser


class LoginUser(_Payload):
    email: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=200)


class LoginUserRequest(_Payload):
    user: LoginUser


class UpdateUser(_Payload):
    username: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(
        default=None, min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$"
    )
    password: str | None = Field(default=None, min_length=1, max_length=200)
    bio: str | None = None
    image: str | None = Field(default=None, max_length=1000)


class UpdateUserRequest(_Payload):
    user: UpdateUser


class NewArticle(_Payload):
    title: str = Field(min_length=1, max_length=255)
    description: str = Field(max_length=1000)
    body: str
    tagList: list[str] = Field(default_factory=list[str])  # noqa: N815 (the API's name)


class NewArticleRequest(_Payload):
    article: NewArticle


class UpdateArticle(_Payload):
    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1000)
    body: str | None = None


class UpdateArticleRequest(_Payload):
    article: UpdateArticle


class NewComment(_Payload):
    body: str = Field(min_length=1)


class NewCommentRequest(_Payload):
    comment: NewComment
