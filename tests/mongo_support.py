"""Clean-up helpers for the tests that use the MongoDB-wire server (``ORM_MONGO_URL``).

SecantusDB, the CI server, keeps the transaction of a client that went away open (orphaned),
and later writes to the same documents then retry for a long time: the teardown of a Mongo
test ends the server's sessions, so the next test starts on a clean server.

pymongo is imported when a helper runs, not here, so that suites importing this module still
collect where pymongo is not installed (their Mongo tests then skip).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from orm.core.errors import ConfigurationError
from tests.databases import CONNECT_TIMEOUT, database_name

if TYPE_CHECKING:
    from pymongo import AsyncMongoClient

# Server error codes meaning "this server has no such command": killAllSessions is then
# simply not needed there.
COMMAND_NOT_FOUND = 59
COMMAND_NOT_SUPPORTED = 115
UNSUPPORTED_COMMAND_CODES = frozenset({COMMAND_NOT_FOUND, COMMAND_NOT_SUPPORTED})


@asynccontextmanager
async def mongo_client(url: str) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A client of the server at ``url`` that gives up after CONNECT_TIMEOUT; closed after."""
    import pymongo

    client: AsyncMongoClient[dict[str, Any]] = pymongo.AsyncMongoClient(
        url, serverSelectionTimeoutMS=int(CONNECT_TIMEOUT * 1000)
    )
    try:
        yield client
    finally:
        await client.close()


async def end_all_sessions(url: str) -> None:
    """End every session on the server of ``url``, aborting the transactions left open.

    It ends the sessions of every client of that server, so it belongs in a teardown, after the
    test's own clients are closed.
    """
    from pymongo.errors import OperationFailure

    async with mongo_client(url) as client:
        try:
            await client.admin.command("killAllSessions", [])
        except OperationFailure as exc:
            if exc.code not in UNSUPPORTED_COMMAND_CODES:
                raise


async def drop_database(url: str) -> None:
    """Drop the database ``url`` names (its path), with all its collections and indexes."""
    name = database_name(url)
    if name is None:
        raise ConfigurationError(
            f"the Mongo URL {url!r} names no database: add one as its path "
            f"(mongodb://host:port/orm_test_...) so the tests know what to drop"
        )
    async with mongo_client(url) as client:
        await client.drop_database(name)
