"""Profiles and follows: /profiles/{username}[/follow]."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..dependencies import OptionalSession, RequiredSession, Users
from ..entities import User
from ..errors import not_found, unprocessable
from ..views import profile_view

router = APIRouter(tags=["profiles"])


async def _profile(users: Users, username: str) -> User:
    user = await users.find_by_username(username)
    if user is None:
        raise not_found(f"profile {username!r}")
    return user


def _view(user: User, *, following: bool) -> dict[str, Any]:
    return {"profile": profile_view(user, following=following)}


@router.get("/profiles/{username}")
async def get_profile(username: str, users: Users, session: OptionalSession) -> dict[str, Any]:
    user = await _profile(users, username)
    viewer = session.user if session else None
    return _view(user, following=user.id in await users.followed_by(viewer, [user]))


@router.post("/profiles/{username}/follow")
async def follow(username: str, users: Users, session: RequiredSession) -> dict[str, Any]:
    user = await _profile(users, username)
    if user is session.user:
        raise unprocessable("you cannot follow yourself")
    if user.id not in await users.followed_by(session.user, [user]):
        session.user.following.add(user)
    return _view(user, following=True)


@router.delete("/profiles/{username}/follow")
async def unfollow(username: str, users: Users, session: RequiredSession) -> dict[str, Any]:
    user = await _profile(users, username)
    if user.id in await users.followed_by(session.user, [user]):
        session.user.following.remove(user)
    return _view(user, following=False)
