"""The primary/replica pair itself, through raw asyncpg (no ORM): one primary, one hot standby
streaming from it, each of which can be stopped and started again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from tests.replication.conftest import CONNECT_TIMEOUT, Check, ReplicaPair, fetch_value


async def execute(url: str, statement: str, *args: object) -> None:
    connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


@pytest_asyncio.fixture
async def probe_table(replica_pair: ReplicaPair) -> AsyncIterator[str]:
    """A table of this test's own on the primary, dropped afterwards."""
    name = f"replication_probe_{uuid.uuid4().hex[:12]}"
    await execute(replica_pair.primary_url, f"CREATE TABLE {name} (id int PRIMARY KEY, note text)")
    yield name
    # A test that stopped the primary gets it back before the drop.
    await replica_pair.ensure_running()
    await execute(replica_pair.primary_url, f"DROP TABLE IF EXISTS {name}")


async def insert_on_primary(pair: ReplicaPair, table: str, row_id: int, note: str) -> None:
    await execute(pair.primary_url, f"INSERT INTO {table} (id, note) VALUES ($1, $2)", row_id, note)


def replica_has_row(pair: ReplicaPair, table: str, row_id: int, note: str) -> Check:
    async def check() -> bool:
        try:
            found = await fetch_value(
                pair.replica_url, f"SELECT note FROM {table} WHERE id = $1", row_id
            )
        except asyncpg.UndefinedTableError:  # the CREATE TABLE has not arrived yet
            return False
        return found == note

    return check


async def test_only_the_replica_is_in_recovery(replica_pair: ReplicaPair) -> None:
    assert await fetch_value(replica_pair.primary_url, "SELECT pg_is_in_recovery()") is False
    assert await fetch_value(replica_pair.replica_url, "SELECT pg_is_in_recovery()") is True


async def test_a_row_written_on_the_primary_reaches_the_replica(
    replica_pair: ReplicaPair, probe_table: str
) -> None:
    await insert_on_primary(replica_pair, probe_table, 1, "first")

    await replica_pair.wait_until_visible(
        replica_has_row(replica_pair, probe_table, 1, "first"), what=f"row 1 of {probe_table}"
    )


async def test_the_replica_refuses_writes(replica_pair: ReplicaPair, probe_table: str) -> None:
    await insert_on_primary(replica_pair, probe_table, 1, "first")
    await replica_pair.wait_until_visible(
        replica_has_row(replica_pair, probe_table, 1, "first"), what=f"row 1 of {probe_table}"
    )

    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await execute(
            replica_pair.replica_url, f"INSERT INTO {probe_table} (id, note) VALUES (2, 'no')"
        )
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await execute(replica_pair.replica_url, f"UPDATE {probe_table} SET note = 'no'")


async def test_a_stopped_replica_catches_up_when_started_again(
    replica_pair: ReplicaPair, probe_table: str
) -> None:
    await insert_on_primary(replica_pair, probe_table, 1, "before")
    await replica_pair.wait_until_visible(
        replica_has_row(replica_pair, probe_table, 1, "before"), what=f"row 1 of {probe_table}"
    )

    await replica_pair.stop_replica()

    with pytest.raises(OSError):
        await fetch_value(replica_pair.replica_url, "SELECT 1")
    assert await fetch_value(replica_pair.primary_url, "SELECT 1") == 1
    await insert_on_primary(replica_pair, probe_table, 2, "while the replica was down")

    await replica_pair.start_replica()

    assert await fetch_value(replica_pair.replica_url, "SELECT pg_is_in_recovery()") is True
    await replica_pair.wait_until_visible(
        replica_has_row(replica_pair, probe_table, 2, "while the replica was down"),
        what=f"row 2 of {probe_table}, written while the replica was down",
    )
