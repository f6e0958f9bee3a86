"""Fixtures for MySQL/MariaDB-only tests: the server URL and ORMs on a fresh schema.

The server comes from ``ORM_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306/orm_test``).
Without a server these tests skip, unless ``ORM_REQUIRE_DATABASES=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiomysql
import pytest

from orm.core import ORM
from orm.mysql import parse_mysql_url

from ...compliance.conftest import database_url

MakeMySql = Callable[..., Awaitable[ORM]]


@pytest.fixture
async def mysql_url() -> str:
    url = database_url("mariadb")
    parsed = parse_mysql_url(url)
    try:
        connection = await aiomysql.connect(
            host=parsed.host,
            port=parsed.port,
            user=parsed.user or "root",
            password=parsed.password or "",
            db=parsed.database,
            unix_socket=parsed.unix_socket,
            connect_timeout=5,
        )
    except Exception as exc:
        if os.environ.get("ORM_REQUIRE_DATABASES") == "1":
            pytest.fail(
                f"MySQL/MariaDB is required (ORM_REQUIRE_DATABASES=1) but unavailable: {exc}"
            )
        pytest.skip(f"MySQL/MariaDB unavailable at {url}: {exc}")
    connection.close()
    return url


@pytest.fixture
async def make_mysql(mysql_url: str) -> AsyncIterator[MakeMySql]:
    """``orm = await make_mysql([Author], returning=False)``: fresh schema, dropped afterwards."""
    opened: list[ORM] = []

    async def factory(entities: Sequence[type[Any]], **options: Any) -> ORM:
        orm = await ORM.init(url=mysql_url, entities=entities, **options)
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
