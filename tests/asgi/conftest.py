"""Fixtures of the ASGI tests: a database URL with the ``asgi_note`` table, and ORM openers.

``url`` is an SQLite file of the test's own; ``server_url`` also runs on PostgreSQL when it is a
configured database (ORM_PG_URL), failing under ORM_REQUIRE_DATABASES=1 when it is unreachable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from orm.core import ORM, Config
from orm.core.errors import ORMError
from tests.asgi.models import Note
from tests.compliance.conftest import unavailable
from tests.databases import configured_databases, database_url

OpenOrm = Callable[[], Awaitable[ORM]]


def opener(url: str) -> OpenOrm:
    """An async factory for ``orm_lifespan``: opens an ORM on ``url`` (its schema exists)."""

    async def open_orm() -> ORM:
        return await ORM.init(Config(url=url, entities=[Note]))

    return open_orm


async def _fresh_schema(url: str, name: str) -> None:
    try:
        orm = await ORM.init(Config(url=url, entities=[Note]))
    except ORMError as exc:
        unavailable(name, str(exc))
    try:
        await orm.schema.drop()
        await orm.schema.create()
    finally:
        await orm.close()


@pytest.fixture
async def url(tmp_path: Path) -> str:
    """An SQLite file with an empty ``asgi_note`` table."""
    file_url = f"sqlite:///{tmp_path / 'app.db'}"
    await _fresh_schema(file_url, "sqlite")
    return file_url


SERVER_DATABASES = [name for name in ("sqlite", "postgres") if name in configured_databases()]


@pytest.fixture(params=SERVER_DATABASES)
async def server_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Like ``url``, on SQLite and on PostgreSQL."""
    name: str = request.param
    chosen = f"sqlite:///{tmp_path / 'app.db'}" if name == "sqlite" else database_url(name)
    await _fresh_schema(chosen, name)
    yield chosen
    if name != "sqlite":
        orm = await ORM.init(Config(url=chosen, entities=[Note]))
        try:
            await orm.schema.drop()
        finally:
            await orm.close()


@pytest.fixture
async def orm(url: str) -> AsyncIterator[ORM]:
    """An open ORM on ``url``, for the tests that drive the middleware by hand."""
    opened = await ORM.init(Config(url=url, entities=[Note]))
    try:
        yield opened
    finally:
        await opened.close()


async def titles(url: str) -> list[str]:
    """The stored note titles, read through an ORM of its own (what another process sees)."""
    async with await ORM.init(Config(url=url, entities=[Note])) as reader:
        notes = await reader.em.fork().find(Note, order_by={"title": "asc"})
        return [note.title for note in notes]
