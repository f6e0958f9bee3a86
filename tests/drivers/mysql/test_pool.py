"""The aiomysql pool: acquire timeout, killed connections, session state, server detection."""

from __future__ import annotations

import asyncio
import os

import pytest

from orm.core import ORM, PoolTimeoutError
from orm.core.errors import ConnectionError, DeadlockError, DriverError
from orm.mysql import MySqlConnection, MySqlDriver, parse_mysql_url

from ...compliance.models import LIBRARY, Author
from .conftest import MakeMySql


async def test_the_server_is_detected(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    driver = orm.driver
    assert isinstance(driver, MySqlDriver)
    server = driver.server
    assert server.version_string and server.version >= (8, 0, 0)
    assert driver.platform.name == server.name
    assert driver.platform.returning is server.has_returning
    assert server.autoinc_lock_mode in (0, 1, 2)
    assert driver.auto_increment_step == server.auto_increment_increment


async def test_sessions_run_in_utc_and_strict_mode(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    async with orm.driver.acquire() as connection:
        result = await connection.execute(
            "SELECT @@session.time_zone AS tz, @@session.sql_mode AS mode, "
            "@@character_set_connection AS charset"
        )
    row = result.rows[0]
    assert row["tz"] == "+00:00"
    assert "STRICT_ALL_TABLES" in row["mode"]
    assert row["charset"] == "utf8mb4"


async def test_an_exhausted_pool_raises_pool_timeout(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY, pool_min_size=1, pool_max_size=1, acquire_timeout=0.05)
    async with orm.driver.acquire():
        with pytest.raises(PoolTimeoutError) as caught:
            async with orm.driver.acquire():
                pass
    message = str(caught.value)
    assert "all 1 are in use" in message and "pool_max_size" in message
    async with orm.driver.acquire() as connection:  # free again
        assert (await connection.execute("SELECT 1 AS one")).rows == [{"one": 1}]


async def _connection_id(connection: object) -> int:
    assert isinstance(connection, MySqlConnection)
    return int((await connection.execute("SELECT CONNECTION_ID() AS id")).rows[0]["id"])


async def test_a_killed_idle_connection_is_not_handed_out(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY, pool_min_size=1, pool_max_size=1)
    async with orm.driver.acquire() as connection:
        victim = await _connection_id(connection)
    killer = await make_mysql(LIBRARY)  # another pool, so the only pooled connection is idle
    async with killer.driver.acquire() as connection:
        await connection.execute("KILL :id", {"id": victim})
    await asyncio.sleep(0)
    async with orm.driver.acquire() as connection:
        assert await _connection_id(connection) != victim
    assert await orm.em.fork().count(Author) == 0


async def test_a_connection_found_dead_on_first_use_reconnects(make_mysql: MakeMySql) -> None:
    """The server closed the socket, but the client has not noticed yet: the first statement
    fails with "lost connection", and a read is safely sent again on a new connection."""
    orm = await make_mysql(LIBRARY, pool_max_size=2)
    async with orm.driver.acquire() as held:
        assert isinstance(held, MySqlConnection)
        victim = await _connection_id(held)
        async with orm.driver.acquire() as killer:
            await killer.execute("KILL :id", {"id": victim})
        fresh = MySqlConnection(held.driver, held.raw)  # as if just checked out of the pool
        assert await _connection_id(fresh) != victim


async def test_a_write_on_a_dead_connection_is_not_sent_again(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY, pool_max_size=2)
    async with orm.driver.acquire() as held:
        assert isinstance(held, MySqlConnection)
        victim = await _connection_id(held)
        async with orm.driver.acquire() as killer:
            await killer.execute("KILL :id", {"id": victim})
        fresh = MySqlConnection(held.driver, held.raw)
        with pytest.raises(ConnectionError):
            await fresh.execute("INSERT INTO author (name, email) VALUES ('a', 'b')")
    # The broken connection went back to the pool closed; the pool replaces it.
    for _ in range(3):
        assert await orm.em.fork().count(Author) == 0


async def test_foreign_key_checks_off_never_returns_to_the_pool(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY, pool_max_size=1)
    async with orm.driver.acquire() as connection:
        assert isinstance(connection, MySqlConnection)
        await connection.run_sql("SET FOREIGN_KEY_CHECKS = 0")  # e.g. a drop that failed midway
    async with orm.driver.acquire() as connection:
        result = await connection.execute("SELECT @@foreign_key_checks AS checks")
        assert result.rows == [{"checks": 1}]


async def test_close_is_idempotent_and_acquire_after_close_fails(mysql_url: str) -> None:
    orm = await ORM.init(url=mysql_url, entities=LIBRARY)
    await orm.close()
    await orm.close()
    with pytest.raises(DriverError, match="not connected"):
        async with orm.driver.acquire():
            pass


SOCKET = "/run/mysqld/mysqld.sock"
HAS_SOCKET = os.path.exists(SOCKET)


async def test_a_unix_socket_url(mysql_url: str) -> None:
    parsed = parse_mysql_url(mysql_url)
    if parsed.host not in ("127.0.0.1", "localhost") or not HAS_SOCKET:
        pytest.skip(f"no local server socket at {SOCKET}")
    user = parsed.user or "root"
    url = f"mysql://{user}@localhost/{parsed.database}?unix_socket={SOCKET}"
    orm = await ORM.init(url=url, entities=LIBRARY, pool_max_size=1)
    try:
        async with orm.driver.acquire() as connection:
            result = await connection.execute("SELECT 1 AS one")
        assert result.rows == [{"one": 1}]
    finally:
        await orm.close()


async def test_after_a_deadlock_the_transaction_refuses_statements_until_rollback(
    make_mysql: MakeMySql,
) -> None:
    """InnoDB rolls the victim's whole transaction back; running on would be autocommit."""
    orm = await make_mysql(LIBRARY, pool_max_size=2)
    em = orm.em.fork()
    em.persist([Author("a", "a@x.io"), Author("b", "b@x.io")])
    await em.flush()
    first, second = sorted(a.id for a in await orm.em.fork().find(Author))
    update = "UPDATE author SET age = 1 WHERE id = :id"
    async with orm.driver.acquire() as one, orm.driver.acquire() as two:
        await one.begin()
        await two.begin()
        await one.execute(update, {"id": first})
        await two.execute(update, {"id": second})
        results = await asyncio.gather(
            one.execute(update, {"id": second}),
            two.execute(update, {"id": first}),
            return_exceptions=True,
        )
        failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
        assert len(failed) == 1, results
        assert isinstance(results[failed[0]], DeadlockError)
        victim, survivor = (one, two) if failed == [0] else (two, one)
        with pytest.raises(DeadlockError, match="roll back and retry"):
            await victim.execute("SELECT 1 AS one")
        with pytest.raises(DeadlockError):
            await victim.rollback_to_savepoint("nope")
        await victim.rollback()
        assert (await victim.execute("SELECT 1 AS one")).rows == [{"one": 1}]
        await survivor.commit()
