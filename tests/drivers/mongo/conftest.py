"""An ORM on the MongoDB-wire server of ``ORM_MONGO_URL`` for the driver's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

from orm.core import ORM
from orm.core.errors import ConnectionError
from tests.compliance.conftest import unavailable
from tests.databases import database_url

MakeMongoOrm = Callable[..., Awaitable[ORM]]


@pytest.fixture
async def make_mongo_orm() -> AsyncIterator[MakeMongoOrm]:
    """``orm = await make_mongo_orm([Author, Book])``: a fresh schema, dropped afterwards."""
    opened: list[ORM] = []

    async def factory(entities: Sequence[type[Any]], **options: Any) -> ORM:
        try:
            orm = await ORM.init(
                url=database_url("mongo"), entities=entities, connect_timeout=5, **options
            )
        except ConnectionError as exc:
            unavailable("mongo", str(exc))
        opened.append(orm)
        await orm.schema.drop()
        await orm.schema.create()
        return orm

    yield factory
    for orm in opened:
        try:
            await orm.schema.drop()
        finally:
            await orm.close()
