"""The migration lock: one run per database at a time.

PostgreSQL takes a session-level advisory lock, MySQL/MariaDB ``GET_LOCK``, SQLite a row in a
small lock table. The lock lives on the connection that runs the migrations; a second run waits
for it (``lock_timeout`` seconds) and then fails with :class:`MigrationLockError`.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import os
import socket
import time
from collections.abc import Callable

from orm.core.errors import LockWaitError, ORMError, UniqueConstraintViolation
from orm.migrations.errors import MigrationLockError
from orm.query_builder import SqlConnection, SqlDriver

POLL_SECONDS = 0.2


class MigrationLock(abc.ABC):
    """Acquire with :meth:`acquire`, give back with :meth:`release`, on one connection."""

    def __init__(self, table: str) -> None:
        self.table = table

    @abc.abstractmethod
    async def try_acquire(self, connection: SqlConnection) -> bool: ...

    @abc.abstractmethod
    async def release(self, connection: SqlConnection) -> None: ...

    async def holder(self, connection: SqlConnection) -> str:
        """Who holds the lock, for messages (when the database can tell)."""
        return "another migration run"

    def stale_hint(self) -> str:
        return ""

    async def acquire(
        self,
        connection: SqlConnection,
        *,
        wait_seconds: float,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        if await self.try_acquire(connection):
            return
        try:
            holder = await self.holder(connection)
        except ORMError:  # only for the message: never a reason to fail the run
            holder = "another migration run"
        if on_wait is not None:
            on_wait(f"waiting up to {wait_seconds:g} s for the migration lock held by {holder}")
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            if await self.try_acquire(connection):
                return
        raise MigrationLockError(
            f"the migration lock of this database is held by {holder}, and was not released "
            f"within {wait_seconds:g} s: another deployment is migrating. Wait for it to "
            f"finish and run again (or raise the lock timeout).{self.stale_hint()}"
        )


def _key(table: str) -> int:
    digest = hashlib.sha256(f"orm.migrations:{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresLock(MigrationLock):
    async def try_acquire(self, connection: SqlConnection) -> bool:
        result = await connection.execute(
            "SELECT pg_try_advisory_lock(:key) AS got", {"key": _key(self.table)}
        )
        return bool(result.rows[0]["got"])

    async def release(self, connection: SqlConnection) -> None:
        await connection.execute("SELECT pg_advisory_unlock(:key)", {"key": _key(self.table)})

    async def holder(self, connection: SqlConnection) -> str:
        key = _key(self.table)
        result = await connection.execute(
            "SELECT a.pid, a.application_name, a.client_addr::text AS addr FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND "
            "l.granted AND l.classid = :high AND l.objid = :low AND l.objsubid = 1 AND "
            "l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
        )
        if not result.rows:
            return "another migration run"
        row = result.rows[0]
        return f"server process {row['pid']} ({row['addr'] or 'local'})"


class MySqlLock(MigrationLock):
    _NAME = "LEFT(CONCAT(:prefix, DATABASE()), 64)"

    async def try_acquire(self, connection: SqlConnection) -> bool:
        result = await connection.execute(
            f"SELECT GET_LOCK({self._NAME}, 0) AS got", {"prefix": f"{self.table}:"}
        )
        return bool(result.rows[0]["got"] == 1)

    async def release(self, connection: SqlConnection) -> None:
        await connection.execute(f"SELECT RELEASE_LOCK({self._NAME})", {"prefix": f"{self.table}:"})

    async def holder(self, connection: SqlConnection) -> str:
        result = await connection.execute(
            f"SELECT IS_USED_LOCK({self._NAME}) AS holder", {"prefix": f"{self.table}:"}
        )
        holder = result.rows[0]["holder"] if result.rows else None
        return "another migration run" if holder is None else f"connection {holder}"


class SqliteLock(MigrationLock):
    """A row in ``<table>_lock``; a crashed run leaves it behind (the message says so)."""

    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.lock_table = f"{table}_lock"
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"

    async def try_acquire(self, connection: SqlConnection) -> bool:
        # A run that holds the lock also holds SQLite's write lock while it migrates: a write
        # from here must fail at once (and be polled, with a notice), not wait silently.
        waited = float(getattr(connection.driver, "busy_timeout", 5.0))
        await connection.run_sql("PRAGMA busy_timeout = 0")
        try:
            return await self._try_insert(connection)
        except LockWaitError:
            return False  # the other run is writing right now
        finally:
            await connection.run_sql(f"PRAGMA busy_timeout = {int(waited * 1000)}")

    async def _table_exists(self, connection: SqlConnection) -> bool:
        exists = await connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = :name",
            {"name": self.lock_table},
        )
        return bool(exists.rows)

    async def _try_insert(self, connection: SqlConnection) -> bool:
        if not await self._table_exists(connection):
            await connection.run_sql(
                f'CREATE TABLE IF NOT EXISTS "{self.lock_table}" (id INTEGER NOT NULL PRIMARY '
                f"KEY, owner VARCHAR(255) NOT NULL, locked_at VARCHAR(32) NOT NULL)"
            )
        elif (await connection.execute(f'SELECT 1 AS held FROM "{self.lock_table}"')).rows:
            return False
        try:
            await connection.execute(
                f'INSERT INTO "{self.lock_table}" (id, owner, locked_at) '
                f"VALUES (1, :owner, CURRENT_TIMESTAMP)",
                {"owner": self.owner},
            )
        except (UniqueConstraintViolation, LockWaitError):
            return False
        return True

    async def release(self, connection: SqlConnection) -> None:
        await connection.execute(
            f'DELETE FROM "{self.lock_table}" WHERE id = 1 AND owner = :owner',
            {"owner": self.owner},
        )

    async def holder(self, connection: SqlConnection) -> str:
        # The first try may have failed while another run was creating the lock table.
        if not await self._table_exists(connection):
            return "another migration run"
        result = await connection.execute(
            f'SELECT owner, locked_at FROM "{self.lock_table}" WHERE id = 1'
        )
        if not result.rows:
            return "another migration run"
        row = result.rows[0]
        return f"{row['owner']} (since {row['locked_at']} UTC)"

    def stale_hint(self) -> str:
        return (
            f" If no other run is active (a run that crashed leaves its lock behind), remove "
            f'the lock with: DELETE FROM "{self.lock_table}"'
        )


def lock_for(driver: SqlDriver, table: str) -> MigrationLock:
    name = driver.dialect.name
    if name == "postgresql":
        return PostgresLock(table)
    if name in ("mysql", "mariadb"):
        return MySqlLock(table)
    return SqliteLock(table)
