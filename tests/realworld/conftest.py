"""The Conduit example app (examples/realworld) under test: on SQLite (schema created from the
entities) and PostgreSQL (schema made by the app's own migrations), driven through httpx's ASGI
transport with the app's lifespan running."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from orm.core import ORM, EntityManager
from tests.databases import configured_databases, database_url, ensure_databases, with_database

APP_FOLDER = Path(__file__).resolve().parents[2] / "examples" / "realworld"
# The app is a folder of its own, run from there (run.sh): its package is imported likewise.
if str(APP_FOLDER) not in sys.path:
    sys.path.insert(0, str(APP_FOLDER))

from conduit.app import create_app  # noqa: E402
from conduit.settings import make_config  # noqa: E402

from orm.migrations import Migrator  # noqa: E402

DATABASES = [name for name in ("sqlite", "postgres") if name in configured_databases()]
PG_DATABASE = "orm_realworld_test" + os.environ.get("ORM_TEST_DB_SUFFIX", "")


def postgres_url() -> str:
    """The app's own test database on the PostgreSQL server of ``ORM_PG_URL``: skips when the
    server does not answer, fails instead under ``ORM_REQUIRE_DATABASES=1``."""
    url = with_database(database_url("postgres"), PG_DATABASE)
    problem = ensure_databases("postgres", url)
    if problem is not None:
        if os.environ.get("ORM_REQUIRE_DATABASES") == "1":
            pytest.fail(f"PostgreSQL is required (ORM_REQUIRE_DATABASES=1): {problem}")
        pytest.skip(f"PostgreSQL is not reachable: {problem}")
    return url


@pytest.fixture(params=DATABASES)
def conduit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conduit.db'}"
    return postgres_url()


@dataclass
class Conduit:
    """The running app: its HTTP client and its ORM (for seeding and checks)."""

    client: httpx2.AsyncClient
    orm: ORM

    async def call(
        self, method: str, path: str, *, token: str | None = None, json: Any = None
    ) -> httpx2.Response:
        headers = {"Authorization": f"Token {token}"} if token else {}
        return await self.client.request(method, f"/api{path}", headers=headers, json=json)

    async def register(self, username: str) -> str:
        """A new user; returns its token."""
        body = {"user": {"username": username, "email": f"{username}@x.org", "password": "pw"}}
        response = await self.call("POST", "/users", json=body)
        assert response.status_code == 201, response.text
        token: str = response.json()["user"]["token"]
        return token

    def fork(self) -> EntityManager:
        return self.orm.em.fork()


@pytest.fixture
async def conduit(conduit_url: str) -> AsyncIterator[Conduit]:
    opened: list[ORM] = []

    async def open_orm() -> ORM:
        orm = await ORM.init(make_config(conduit_url))
        if conduit_url.startswith("sqlite"):
            await orm.schema.create()
        else:
            await Migrator(orm).fresh()  # drops every table, runs the app's migrations
        opened.append(orm)
        return orm

    app = create_app(open_orm)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://conduit") as client:
            yield Conduit(client, opened[0])
