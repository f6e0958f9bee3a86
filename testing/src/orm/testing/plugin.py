"""The pytest plugin of orm-testing, registered through the ``pytest11`` entry point.

Fixtures (docs/testing.md): ``orm`` (the session's ORM, schema made once), ``em`` (a fresh fork
per test) and ``orm_isolation`` (what keeps tests apart: the test's transaction, rolled back at
its end). A project turns the plugin on by naming its Config (``--orm-config`` or the
``orm_config`` ini setting); without it the plugin changes nothing, and the fixtures say what
to set when a test asks for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from orm.core.entity_manager import EntityManager
from orm.core.errors import ConfigurationError
from orm.core.orm import ORM
from orm.testing.cleanup import delete_all_rows, recreate_collections
from orm.testing.pinned import PinnedTransaction
from orm.testing.session import open_orm
from orm.testing.settings import PluginSettings, add_options, load_config, read_settings

COMMIT_MARKER = "orm_commit"
_SETTINGS = pytest.StashKey[PluginSettings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{COMMIT_MARKER}: the test runs with real commits instead of a transaction rolled "
        f"back at its end; the ORM's tables are emptied after it (orm-testing)",
    )
    try:
        config.stash[_SETTINGS] = read_settings(config)
    except ConfigurationError as exc:
        raise pytest.UsageError(str(exc)) from exc


def _settings(config: pytest.Config) -> PluginSettings:
    return config.stash[_SETTINGS]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _settings(config).configured:
        return
    for item in items:
        if "orm" not in getattr(item, "fixturenames", ()):
            continue
        # The ORM's connections belong to the event loop that opened them: pytest-asyncio's
        # session loop, where the orm fixture runs. A test that did not choose a loop runs on
        # it too; one that chose another is told so at its first query (pinned.py).
        marker = item.get_closest_marker("asyncio")
        if marker is None or marker.kwargs.get("loop_scope") or marker.kwargs.get("scope"):
            continue
        item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def orm(request: pytest.FixtureRequest) -> AsyncIterator[ORM]:
    """The test session's ORM, from the configured Config: schema made once (``orm_schema``)."""
    settings = _settings(request.config)
    instance = await open_orm(load_config(settings), settings.schema)
    try:
        yield instance
    finally:
        await instance.close()


@pytest.fixture(autouse=True)
def _orm_isolation_for_orm_users(request: pytest.FixtureRequest) -> None:
    # Autouse, so it comes before the test's other function-scoped fixtures (pytest sets up
    # autouse fixtures first within a scope): rows a fixture writes through `orm` stay in the
    # test's transaction. Session- and module-scoped fixtures come earlier and commit.
    if _settings(request.config).configured and "orm" in request.fixturenames:
        request.getfixturevalue("orm_isolation")


@pytest_asyncio.fixture(loop_scope="session")
async def orm_isolation(orm: ORM, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Keeps this test's writes from every other test (docs/testing.md#how-it-works).

    SQL databases: the test runs in a transaction rolled back at its end; ``@pytest.mark.
    orm_commit`` tests commit for real and the ORM's tables are emptied after them. Databases
    without savepoints (MongoDB): the collections are dropped and created after the test.
    """
    platform = orm.driver.platform
    if request.node.get_closest_marker(COMMIT_MARKER) is not None:
        try:
            yield
        finally:
            await delete_all_rows(orm)
        return
    if not (platform.sql and platform.transactions and platform.savepoints):
        try:
            yield
        finally:
            await recreate_collections(orm)
        return
    pinned = PinnedTransaction(
        orm.driver, test_name=request.node.nodeid, wait=_settings(request.config).connection_wait
    )
    await pinned.start()
    try:
        yield
    finally:
        await pinned.end()


@pytest_asyncio.fixture(loop_scope="session")
async def em(orm: ORM, orm_isolation: None) -> EntityManager:
    """A fresh fork of the session's ORM, inside the test's transaction."""
    return orm.em.fork()
