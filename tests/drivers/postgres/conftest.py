"""Fixtures for PostgreSQL-only tests: the server URL and ORMs on a fresh schema.

The server comes from ``ORM_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/orm_test``).
Without a server these tests skip, unless ``ORM_REQUIRE_DATABASES=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Any

import asyncpg
import pytest

from orm.core import ORM, ConfigurationError

from ...compliance.conftest import database_url

MakePg = Callable[..., Awaitable[ORM]]


@pytest.fixture
async def pg_url() -> str:
    url = database_url("postgres")
    try:
        connection = await asyncpg.connect(url, timeout=5)
    except Exception as exc:
        if os.environ.get("ORM_REQUIRE_DATABASES") == "1":
            pytest.fail(f"PostgreSQL is required (ORM_REQUIRE_DATABASES=1) but unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable at {url}: {exc}")
    await connection.close()
    return url


@pytest.fixture
async def make_pg(pg_url: str) -> AsyncIterator[MakePg]:
    """``orm = await make_pg([Author], pool_max_size=2)``: fresh schema, dropped afterwards."""
    opened: list[ORM] = []

    async def factory(entities: Sequence[type[Any]], **options: Any) -> ORM:
        orm = await ORM.init(url=pg_url, entities=entities, **options)
        opened.append(orm)
        await orm.schema.drop()
        await orm.schema.create()
        return orm

    yield factory
    for orm in opened:
        try:
            with suppress(ConfigurationError):  # the test closed it already
                await orm.schema.drop()
        finally:
            await orm.close()


@pytest.fixture
async def admin(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection outside any pool, e.g. to terminate backends."""
    connection = await asyncpg.connect(pg_url)
    try:
        yield connection
    finally:
        await connection.close()
