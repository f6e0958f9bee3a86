"""The app's migrations (examples/realworld/migrations, written for PostgreSQL, which the app
runs on) build exactly the entities' schema, and revert cleanly."""

from __future__ import annotations

import pytest
from conduit.settings import make_config

from orm.core import ORM
from orm.migrations import Migrator, diff_schema
from tests.realworld.conftest import postgres_url


@pytest.fixture
def pg_url() -> str:
    return postgres_url()  # outside the test's event loop: it may create the database


async def test_the_migrations_match_the_entities_and_revert(pg_url: str) -> None:
    orm = await ORM.init(make_config(pg_url))
    try:
        migrator = Migrator(orm)
        await migrator.fresh()
        diff = await diff_schema(orm)
        assert not diff.changes, diff.up_sql()
        await migrator.down(to="0")
        assert [m.executed_at for m in await migrator.status()] == [None]
        assert len(await migrator.pending()) == len(migrator.files()) == 1
    finally:
        await orm.close()
