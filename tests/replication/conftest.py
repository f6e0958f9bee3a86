"""A real PostgreSQL primary and its streaming replica, driven by ``.ci/pg-replica``.

``replica_pair`` (session) hands out the URLs of database ``orm_replica_test`` on both servers
(``ORM_PG_PRIMARY_URL`` / ``ORM_PG_REPLICA_URL``), after creating the database on the primary
and waiting until the replica has it too. When the pair does not answer, the tests skip with
the fix (``bash .ci/pg-replica start``), or fail under ``ORM_REQUIRE_DATABASES=1`` (CI).

A test may stop and start either server through the pair; whatever a test stopped is started
again after it (``restart_stopped_servers``, autouse), so a failing test leaves the next ones a
running pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
import pytest_asyncio

from tests.compliance.conftest import unavailable
from tests.databases import with_database

DATABASE = "orm_replica_test"
DEFAULT_PRIMARY_URL = f"postgresql://postgres@127.0.0.1:5434/{DATABASE}"
DEFAULT_REPLICA_URL = f"postgresql://postgres@127.0.0.1:5435/{DATABASE}"
SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "pg-replica"
PAIR_NAME = "the PostgreSQL primary/replica pair"
START_HINT = "start it with `bash .ci/pg-replica start`"

CONNECT_TIMEOUT = 5.0
# How long a change may take to reach the replica before a test gives up. Only a bound for
# replication lag on a busy machine: no test asserts on how long anything took.
VISIBILITY_TIMEOUT = 30.0
POLL_INTERVAL = 0.05

Check = Callable[[], Awaitable[bool]]


class PairScriptError(RuntimeError):
    """A ``.ci/pg-replica`` command failed; the message carries its output."""


async def poll(check: Check) -> bool:
    """Whether ``check`` came true within VISIBILITY_TIMEOUT (asked every POLL_INTERVAL)."""
    deadline = asyncio.timeout(VISIBILITY_TIMEOUT)
    try:
        async with deadline:
            # Polling a server: there is no event to wait for.
            while True:
                if await check():
                    return True
                await asyncio.sleep(POLL_INTERVAL)
    except TimeoutError:
        if not deadline.expired():
            raise  # the check's own timeout (e.g. connecting): not ours to swallow
        return False


@dataclass
class ReplicaPair:
    primary_url: str
    replica_url: str
    script: Path = SCRIPT
    # Set by every stop: the servers are started again after the test (see ensure_running).
    stopped_a_server: bool = False

    async def stop_replica(self) -> None:
        self.stopped_a_server = True
        await self.run_script("stop-replica")

    async def start_replica(self) -> None:
        await self.run_script("start-replica")

    async def stop_primary(self) -> None:
        self.stopped_a_server = True
        await self.run_script("stop-primary")

    async def start_primary(self) -> None:
        await self.run_script("start-primary")

    async def ensure_running(self) -> None:
        """Start both servers again if a stop was asked for since the last call."""
        if self.stopped_a_server:
            await self.run_script("start")  # idempotent: what runs is left alone
            self.stopped_a_server = False

    async def wait_until_visible(self, check: Check, *, what: str) -> None:
        """Wait until ``check`` answers True (replication lag); fail the test naming ``what``."""
        if not await poll(check):
            pytest.fail(
                f"{what} did not become visible within {VISIBILITY_TIMEOUT:.0f} s: is the "
                f"replica streaming from the primary? (`bash .ci/pg-replica status`, logs beside "
                f"the data directories)"
            )

    @asynccontextmanager
    async def replay_paused(self) -> AsyncIterator[None]:
        """Inside the block the replica applies no WAL: what the primary writes then is missing
        on the replica until the block ends (a lag that does not depend on timing)."""
        await fetch_value(self.replica_url, "SELECT pg_wal_replay_pause()")

        async def paused() -> bool:
            state = await fetch_value(self.replica_url, "SELECT pg_get_wal_replay_pause_state()")
            return state == "paused"

        try:
            await self.wait_until_visible(paused, what="the pause of WAL replay on the replica")
            yield
        finally:
            await fetch_value(self.replica_url, "SELECT pg_wal_replay_resume()")

    async def run_script(self, command: str) -> None:
        process = await asyncio.create_subprocess_exec(
            "bash",
            str(self.script),
            command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise PairScriptError(
                f"`bash {self.script} {command}` failed (exit {process.returncode}):\n"
                f"{output.decode(errors='replace')}"
            )


async def fetch_value(url: str, query: str, *args: object) -> object:
    """The first value ``query`` answers on the server of ``url`` (a connection of its own)."""
    connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


def pair_unavailable(reason: str) -> NoReturn:
    unavailable(PAIR_NAME, f"{reason}; {START_HINT}")
    raise AssertionError("unavailable() skips or fails the test")  # pragma: no cover


async def create_database_on_primary(primary_url: str) -> None:
    connection = await asyncpg.connect(
        with_database(primary_url, "postgres"), timeout=CONNECT_TIMEOUT
    )
    try:
        found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not found:
            # Two sessions may race to create it: the loser's duplicate error is harmless.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()


async def answers_on_database(url: str) -> bool:
    """Whether the server of ``url`` answers on its database (False while it lacks it)."""
    try:
        connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        return bool(await connection.fetchval("SELECT 1") == 1)
    finally:
        await connection.close()


# Connecting fails with these when a server is down, starting or lacks the database.
CONNECT_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def replica_pair() -> ReplicaPair:
    pair = ReplicaPair(
        primary_url=os.environ.get("ORM_PG_PRIMARY_URL", DEFAULT_PRIMARY_URL),
        replica_url=os.environ.get("ORM_PG_REPLICA_URL", DEFAULT_REPLICA_URL),
    )
    try:
        await create_database_on_primary(pair.primary_url)
    except CONNECT_ERRORS as exc:
        pair_unavailable(f"the primary does not answer: {type(exc).__name__}: {exc}")
    try:
        # The replica first answers at all, then (replication) has the database.
        await answers_on_database(with_database(pair.replica_url, "postgres"))
        replicated = await poll(lambda: answers_on_database(pair.replica_url))
    except CONNECT_ERRORS as exc:
        pair_unavailable(f"the replica does not answer: {type(exc).__name__}: {exc}")
    if not replicated:
        pair_unavailable(
            f"database {DATABASE!r}, created on the primary, did not reach the replica within "
            f"{VISIBILITY_TIMEOUT:.0f} s: the replica does not stream from the primary"
        )
    return pair


@pytest.fixture(autouse=True)
async def restart_stopped_servers(replica_pair: ReplicaPair) -> AsyncIterator[None]:
    """After each test: start again whatever server it stopped, even if it failed."""
    yield
    await replica_pair.ensure_running()
