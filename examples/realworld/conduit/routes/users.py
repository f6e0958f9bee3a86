"""Registration, login, and the current user: /users, /users/login, /user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..dependencies import RequiredSession, Users
from ..entities import User
from ..errors import unauthorized, unprocessable
from ..payloads import LoginUserRequest, NewUserRequest, UpdateUserRequest
from ..security import hash_password, issue_token, verify_password
from ..settings import jwt_secret
from ..views import user_view

router = APIRouter(tags=["users"])


@router.post("/users", status_code=201)
async def register(payload: NewUserRequest, users: Users) -> dict[str, Any]:
    data = payload.user
    taken = await users.taken_fields(username=data.username, email=data.email)
    if taken:
        raise unprocessable(*(f"{name} has already been taken" for name in taken))
    user = User(
        username=data.username, email=data.email, password_hash=hash_password(data.password)
    )
    users.persist(user)
    await users.em.flush()  # the token names the new id
    return {"user": user_view(user, issue_token(user.id, jwt_secret()))}


@router.post("/users/login")
async def login(payload: LoginUserRequest, users: Users) -> dict[str, Any]:
    user = await users.find_by_email(payload.user.email)
    if user is None or not verify_password(payload.user.password, user.password_hash):
        raise unauthorized("email or password is invalid")
    return {"user": user_view(user, issue_token(user.id, jwt_secret()))}


@router.get("/user")
async def current_user(session: RequiredSession) -> dict[str, Any]:
    return {"user": user_view(session.user, session.token)}


@router.put("/user")
async def update_user(
    payload: UpdateUserRequest, session: RequiredSession, users: Users
) -> dict[str, Any]:
    user, changes = session.user, payload.user
    taken = await users.taken_fields(
        username=changes.username if changes.username != user.username else None,
        email=changes.email if changes.email != user.email else None,
    )
    if taken:
        raise unprocessable(*(f"{name} has already been taken" for name in taken))
    if changes.username is not None:
        user.username = changes.username
    if changes.email is not None:
        user.email = changes.email
    if changes.password is not None:
        user.password_hash = hash_password(changes.password)
    fields_set = changes.model_fields_set
    if "bio" in fields_set:
        user.bio = changes.bio
    if "image" in fields_set:
        user.image = changes.image
    return {"user": user_view(user, session.token)}
