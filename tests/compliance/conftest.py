"""One suite, every database: each test runs once per configured database.

Databases: ``sqlite`` (embedded, always), ``postgres`` and ``mariadb`` (servers from
``ORM_PG_URL`` / ``ORM_MYSQL_URL``). A server that cannot be reached, or a driver that is not
installed, skips its tests on a laptop and fails them when ``ORM_REQUIRE_DATABASES=1`` (CI).
A test marked ``@pytest.mark.capability("name")`` is skipped, with that reason, where the
driver's ``Platform`` lacks the capability.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

from orm.core import ORM
from orm.core.errors import ORMError
from orm.core.orm import driver_class_for
from tests.conftest import required_capabilities
from tests.databases import configured_databases, database_url

__all__ = ["configured_databases", "database_url"]


def _unavailable(name: str, reason: str) -> None:
    if os.environ.get("ORM_REQUIRE_DATABASES") == "1":
        pytest.fail(f"{name} is required (ORM_REQUIRE_DATABASES=1) but unavailable: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


# Public for the other suites that need a server (tests/faults).
unavailable = _unavailable


@pytest.fixture(params=configured_databases())
def database(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    url = database_url(name)
    try:
        driver_class = driver_class_for(url)
    except ORMError as exc:
        _unavailable(name, str(exc))
    for capability in required_capabilities(request.node):
        if not driver_class.platform.supports(capability):
            pytest.skip(f"{name} lacks the capability {capability!r} (Platform.{capability})")
    return name


MakeOrm = Callable[..., Awaitable[ORM]]


@pytest.fixture
async def make_orm(database: str, request: pytest.FixtureRequest) -> AsyncIterator[MakeOrm]:
    """``orm = await make_orm([Author, Book])``: an ORM on a fresh schema, closed afterwards."""
    opened: list[ORM] = []
    marker_capabilities = required_capabilities(request.node)

    async def factory(entities: Sequence[type[Any]], **options: Any) -> ORM:
        try:
            orm = await ORM.init(url=database_url(database), entities=entities, **options)
        except ORMError as exc:
            if "connect" in str(exc).lower() or exc.__class__.__name__ == "ConnectionError":
                _unavailable(database, str(exc))
            raise
        opened.append(orm)
        # One driver class can serve several servers (MySQL and MariaDB): check the
        # capabilities of the platform the connected driver reports, too.
        if marker_capabilities:
            missing = [c for c in marker_capabilities if not orm.driver.platform.supports(c)]
            if missing:
                pytest.skip(
                    f"{orm.driver.platform.name} lacks the capability {missing[0]!r} "
                    f"(Platform.{missing[0]})"
                )
        await orm.schema.drop()
        await orm.schema.create()
        return orm

    yield factory
    for orm in opened:
        try:
            await orm.schema.drop()
        finally:
            await orm.close()
