"""The asyncpg pool: settings, exhaustion, broken connections, unreachable servers."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest

from orm.core import ORM, DriverError, EntityManager, PoolTimeoutError
from orm.core.errors import ConnectionError
from orm.core.query.ast import SelectQuery
from orm.postgres import PostgresConnection, PostgresDriver, parse_postgres_url

from ...compliance.models import LIBRARY, Author
from .conftest import MakePg


def _driver(orm: ORM) -> PostgresDriver:
    assert isinstance(orm.driver, PostgresDriver)
    return orm.driver


async def _pid(orm: ORM) -> int:
    async with orm.driver.acquire() as connection:
        assert isinstance(connection, PostgresConnection)
        return connection.backend_pid


async def test_pool_settings_are_applied(make_pg: MakePg) -> None:
    orm = await make_pg(
        LIBRARY,
        pool_min_size=2,
        pool_max_size=3,
        server_settings={"application_name": "orm-pool-test", "timezone": "Asia/Tokyo"},
        command_timeout=30,
    )
    pool = _driver(orm).pool
    assert pool.get_min_size() == 2
    assert pool.get_max_size() == 3
    assert pool.get_size() >= 2  # min_size connections are opened at ORM.init
    result = await orm.em.fork().execute(
        "SELECT current_setting('application_name') AS app, current_setting('TimeZone') AS tz"
    )
    assert result.rows == [{"app": "orm-pool-test", "tz": "Asia/Tokyo"}]


async def _prepared_statements(orm: ORM) -> int:
    async with orm.driver.acquire() as connection:
        assert isinstance(connection, PostgresConnection)
        for _ in range(2):
            await connection.find(_query(orm))
        rows = await connection.execute("SELECT count(*) AS n FROM pg_prepared_statements")
        return int(rows.rows[0]["n"])


def _query(orm: ORM) -> SelectQuery:
    return SelectQuery(orm.metadata[Author])


async def test_statement_cache_size_zero_prepares_nothing_by_name(make_pg: MakePg) -> None:
    cached = await make_pg(LIBRARY, pool_max_size=1)
    assert await _prepared_statements(cached) > 0
    uncached = await make_pg(LIBRARY, pool_max_size=1, statement_cache_size=0)
    assert await _prepared_statements(uncached) == 0


async def test_command_timeout_cancels_a_slow_statement(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY, pool_max_size=1, command_timeout=0.2)
    with pytest.raises(DriverError, match="command_timeout"):
        await orm.em.fork().execute("SELECT pg_sleep(5)")
    # The connection (or its replacement) is usable afterwards.
    assert (await orm.em.fork().execute("SELECT 1 AS one")).rows == [{"one": 1}]


async def test_an_exhausted_pool_times_out_with_a_clear_error(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY, pool_max_size=1, acquire_timeout=0.2)
    async with orm.driver.acquire():
        with pytest.raises(PoolTimeoutError) as info:
            await orm.em.fork().count(Author)
    message = str(info.value)
    assert "0.2 s" in message
    assert "pool_max_size" in message and "acquire_timeout" in message
    assert isinstance(info.value, ConnectionError)
    assert await orm.em.fork().count(Author) == 0  # free again


async def test_an_exhausted_pool_waits_for_a_connection(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY, pool_max_size=1, acquire_timeout=30)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with orm.driver.acquire():
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    waiting = asyncio.create_task(orm.em.fork().count(Author))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    release.set()
    await holder
    assert await waiting == 0


async def test_twenty_forks_flush_at_once_on_a_small_pool(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY, pool_max_size=4)

    async def work(index: int) -> tuple[int, str]:
        em = orm.em.fork()
        author = Author(f"Writer {index}", f"w{index}@x.io")
        em.persist(author)
        await em.flush()
        author.name = f"Writer {index} (edited)"
        await em.flush()
        found = await em.find(Author, {"email": f"w{index}@x.io"})
        assert found == [author]  # the fork's own identity map, no crosstalk
        return author.id, author.name

    results = await asyncio.gather(*(work(i) for i in range(20)))
    assert len({author_id for author_id, _ in results}) == 20
    assert await orm.em.fork().count(Author, {"name": {"$like": "%(edited)"}}) == 20
    assert _driver(orm).pool.get_size() <= 4


async def test_a_terminated_idle_connection_is_replaced(
    make_pg: MakePg, admin: asyncpg.Connection
) -> None:
    orm = await make_pg(LIBRARY, pool_min_size=1, pool_max_size=1)
    before = await _pid(orm)
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", before)
    # Right away, before the pool could notice: the first statement retries on a new one.
    assert await orm.em.fork().count(Author) == 0
    after = await _pid(orm)
    assert after != before
    em = orm.em.fork()
    em.persist(Author("After", "after@x.io"))
    await em.flush()  # BEGIN is retried the same way
    assert await orm.em.fork().count(Author) == 1
    # Raw SQL too: it is prepared first, which changes nothing and may be retried.
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", after)
    rows = await orm.em.fork().execute("SELECT count(*) AS n FROM author")
    assert rows.rows == [{"n": 1}]
    # And a flush, whose first statement is BEGIN.
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", await _pid(orm))
    em = orm.em.fork()
    em.persist(Author("Later", "later@x.io"))
    await em.flush()
    assert await orm.em.fork().count(Author) == 2


async def test_a_connection_killed_inside_a_transaction_fails_once_then_is_replaced(
    make_pg: MakePg, admin: asyncpg.Connection
) -> None:
    orm = await make_pg(LIBRARY, pool_max_size=1)
    em = orm.em.fork()
    with pytest.raises(ConnectionError) as info:
        async with em.transaction():
            em.persist(Author("Lost", "lost@x.io"))
            await em.flush()
            pid = await _pid_of_transaction(em)
            await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            await admin.execute("SELECT pg_sleep(0.05)")
            await em.count(Author)
    assert "broke" in str(info.value)
    # The transaction was lost with its connection; the pool serves a new connection.
    assert await orm.em.fork().count(Author) == 0
    assert await _pid(orm) != pid


async def _pid_of_transaction(em: EntityManager) -> int:
    result = await em.execute("SELECT pg_backend_pid() AS pid")
    return int(result.rows[0]["pid"])


async def test_an_unreachable_server_names_host_port_and_what_to_check() -> None:
    with pytest.raises(ConnectionError) as info:
        await ORM.init(
            url="postgresql://nobody@127.0.0.1:1/none", entities=LIBRARY, connect_timeout=2
        )
    message = str(info.value)
    assert "127.0.0.1:1" in message
    assert "check that the server is running" in message


async def test_a_missing_database_says_to_create_it(pg_url: str) -> None:
    parsed = parse_postgres_url(pg_url)
    url = pg_url.replace(f"/{parsed.database}", "/orm_no_such_database", 1)
    with pytest.raises(ConnectionError, match=r"orm_no_such_database.*create it"):
        await ORM.init(url=url, entities=LIBRARY)


async def test_using_a_closed_orm_is_an_error(pg_url: str) -> None:
    orm = await ORM.init(url=pg_url, entities=LIBRARY)
    await orm.close()
    await orm.close()  # closing twice is harmless
    with pytest.raises(Exception, match="not connected"):
        await orm.em.fork().count(Author)


def _socket_exists(path: str) -> bool:
    return os.path.exists(path)


@pytest.mark.parametrize("form", ["query", "encoded"])
async def test_unix_socket_urls_connect(pg_url: str, form: str) -> None:
    socket_dir = "/var/run/postgresql"
    parsed = parse_postgres_url(pg_url)
    if parsed.is_unix_socket or not _socket_exists(f"{socket_dir}/.s.PGSQL.{parsed.port}"):
        pytest.skip(f"no PostgreSQL socket in {socket_dir} for port {parsed.port}")
    user = parsed.user or "postgres"
    if form == "query":
        url = f"postgresql://{user}@/{parsed.database}?host={socket_dir}&port={parsed.port}"
    else:
        url = f"postgresql://{user}@%2Fvar%2Frun%2Fpostgresql:{parsed.port}/{parsed.database}"
    try:
        orm = await ORM.init(url=url, entities=LIBRARY)
    except ConnectionError as exc:  # e.g. peer authentication for this OS user
        pytest.skip(f"the socket refuses this user: {exc}")
    try:
        result = await orm.em.fork().execute("SELECT inet_server_addr() AS address")
        assert result.rows == [{"address": None}]  # NULL: not a TCP connection
    finally:
        await orm.close()
