"""The tags in use: /tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..dependencies import Tags

router = APIRouter(tags=["tags"])


@router.get("/tags")
async def list_tags(tags: Tags) -> dict[str, Any]:
    return {"tags": await tags.names()}
