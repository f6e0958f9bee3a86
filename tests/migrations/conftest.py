"""Migration tests run once per configured database (the compliance suite's switches)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from orm.core import ORM, Config
from tests.compliance.conftest import database
from tests.migrations.support import own_url, prepare_database, wipe

__all__ = ["database"]

# ORM_TEST_DB_SUFFIX keeps parallel runs (several checkouts on one server) apart.
DATABASE_NAME = "orm_migrations_test" + os.environ.get("ORM_TEST_DB_SUFFIX", "")

MakeOrm = Callable[..., Awaitable[ORM]]


@pytest.fixture
async def db_url(database: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of this suite's own on the configured server; emptied afterwards."""
    url = own_url(database, DATABASE_NAME, tmp_path)
    await prepare_database(database, url)
    yield url
    await wipe(url)


@pytest.fixture
async def make_orm(db_url: str, tmp_path: Path) -> AsyncIterator[MakeOrm]:
    """``orm = await make_orm([Author, Book])`` on ``db_url``, migrations in tmp_path."""
    opened: list[ORM] = []

    async def factory(entities: Sequence[type[Any]], **options: Any) -> ORM:
        config = Config(
            url=db_url,
            entities=list(entities),
            migrations_path=str(tmp_path / "migrations"),
            **options,
        )
        orm = await ORM.init(config)
        opened.append(orm)
        return orm

    yield factory
    for orm in opened:
        await orm.close()
