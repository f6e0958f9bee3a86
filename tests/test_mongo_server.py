"""The MongoDB-wire server at ``ORM_MONGO_URL`` is one the Mongo driver can be tested on.

The driver relies on a replica set (multi-document transactions exist only there) whose
transactions commit and abort, and the Mongo test teardowns rely on ``end_all_sessions`` to
abort a transaction a test left open. Unreachable: skipped, or failed under
``ORM_REQUIRE_DATABASES=1``; pymongo not installed: skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

try:
    import pymongo
    from pymongo.asynchronous.collection import AsyncCollection
    from pymongo.errors import OperationFailure, PyMongoError
except ImportError:
    pytest.skip("pymongo is not installed", allow_module_level=True)

from tests.compliance.conftest import unavailable
from tests.databases import database_url, with_database
from tests.mongo_support import drop_database, end_all_sessions, mongo_client

# ORM_TEST_DB_SUFFIX keeps parallel runs (several checkouts on one server) apart.
DATABASE_NAME = "orm_test_mc" + os.environ.get("ORM_TEST_DB_SUFFIX", "")

Client = pymongo.AsyncMongoClient[dict[str, Any]]

# Why the server at a URL did not answer, so an absent server costs one timeout, not one a test.
_NO_ANSWER: dict[str, str] = {}


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    url = database_url("mongo")
    if url in _NO_ANSWER:
        unavailable("mongo", _NO_ANSWER[url])
    async with mongo_client(url) as connected:
        try:
            await connected.admin.command("ping")
        except PyMongoError as exc:
            _NO_ANSWER[url] = f"no answer to ping at {url}: {exc}"
            unavailable("mongo", _NO_ANSWER[url])
        yield connected
    await drop_database(with_database(url, DATABASE_NAME))


@pytest.fixture
def things(client: Client) -> AsyncCollection[dict[str, Any]]:
    return client[DATABASE_NAME]["things"]


async def test_the_server_answers_as_a_replica_set(client: Client) -> None:
    hello = await client.admin.command("hello")

    assert hello.get("setName"), f"not a replica set member: {hello}"
    assert hello.get("isWritablePrimary") is True


async def test_an_aborted_transaction_leaves_nothing(
    client: Client, things: AsyncCollection[dict[str, Any]]
) -> None:
    key = uuid.uuid4().hex
    async with client.start_session() as session:
        await session.start_transaction()
        await things.insert_one({"_id": key}, session=session)
        assert await things.find_one({"_id": key}) is None  # not visible outside the transaction
        await session.abort_transaction()

    assert await things.find_one({"_id": key}) is None


async def test_a_committed_transaction_is_kept(
    client: Client, things: AsyncCollection[dict[str, Any]]
) -> None:
    key = uuid.uuid4().hex
    async with client.start_session() as session:
        await session.start_transaction()
        await things.insert_one({"_id": key}, session=session)
        await session.commit_transaction()

    assert await things.find_one({"_id": key}) == {"_id": key}


async def test_ending_all_sessions_aborts_an_open_transaction(
    client: Client, things: AsyncCollection[dict[str, Any]]
) -> None:
    key = uuid.uuid4().hex
    async with client.start_session() as session:
        await session.start_transaction()
        await things.insert_one({"_id": key}, session=session)

        await end_all_sessions(database_url("mongo"))

        with pytest.raises(OperationFailure):
            await session.commit_transaction()

    assert await things.find_one({"_id": key}) is None
    # The document is free again: a write to it does not wait on the killed transaction.
    await things.insert_one({"_id": key})
