"""Read-replica routing through the ORM, against the real primary/replica pair.

Which server answered a read is asked of the servers themselves: ``ServerRole`` maps a view
that answers ``pg_is_in_recovery()`` (True only on the replica). Where a test must tell "only
the primary has it yet" from "the replica has caught up", it pauses WAL replay on the replica
(``replica_pair.replay_paused()``): a lag that does not depend on timing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal

import pytest
import pytest_asyncio

from orm.core import ORM, LockMode, PrimaryKey, Property, ReadOnlyError, Replica, entity
from orm.core import errors as orm_errors
from orm.core.entity_manager import EntityManager
from orm.core.routing import ConnectionType
from tests.replication.conftest import Check, ReplicaPair, fetch_value

AUTHOR_TABLE = "routing_author"
SERVER_ROLE_VIEW = "routing_server_role"

Server = Literal["primary", "replica"]
PRIMARY: Server = "primary"
REPLICA: Server = "replica"


@entity(table=AUTHOR_TABLE)
class RoutedAuthor:
    id: int = PrimaryKey()
    name: str = Property(length=100, unique=True)


@entity(table=SERVER_ROLE_VIEW)
class ServerRole:
    """The server that answered. The key is the answering backend's process id (both servers
    run on this machine, so a live backend's pid names one server): the identity map can only
    hand back a row that the same server answered."""

    id: int = PrimaryKey(autoincrement=False)
    replica: bool


ENTITIES: list[type[Any]] = [RoutedAuthor, ServerRole]


async def authors_named(url: str, name: str) -> int:
    found = await fetch_value(url, f"SELECT count(*) FROM {AUTHOR_TABLE} WHERE name = $1", name)
    assert isinstance(found, int)
    return found


def has_author(url: str, name: str) -> Check:
    async def check() -> bool:
        return await authors_named(url, name) == 1

    return check


async def insert_author(pair: ReplicaPair, name: str) -> None:
    """An author written on the primary, once the replica has it too."""
    await fetch_value(pair.primary_url, f"INSERT INTO {AUTHOR_TABLE} (name) VALUES ($1)", name)
    await pair.wait_until_visible(has_author(pair.replica_url, name), what=f"author {name!r}")


def unique_name() -> str:
    return f"author-{uuid.uuid4().hex[:10]}"


def server_named(replica: object) -> Server:
    assert isinstance(replica, bool), replica
    return REPLICA if replica else PRIMARY


async def server_of(em: EntityManager, **find: Any) -> Server:
    """The server that answers ``em.find(ServerRole, **find)`` (a query every time)."""
    (role,) = await em.find(ServerRole, **find)
    return server_named(role.replica)


async def server_of_raw_sql(em: EntityManager, connection: ConnectionType | None = None) -> Server:
    """The server that answers ``em.execute``."""
    result = await em.execute("SELECT pg_is_in_recovery() AS replica", connection=connection)
    return server_named(result.rows[0]["replica"])


async def start_replica_and_see_it_used(pair: ReplicaPair, orm: ORM) -> None:
    await pair.start_replica()

    async def replica_answers() -> bool:
        return await server_of(orm.em.fork()) == REPLICA

    await pair.wait_until_visible(replica_answers, what="reads answered by the replica again")
    assert orm.replicas.status()[0].up


async def drop_schema(url: str) -> None:
    await fetch_value(url, f"DROP VIEW IF EXISTS {SERVER_ROLE_VIEW}")
    await fetch_value(url, f"DROP TABLE IF EXISTS {AUTHOR_TABLE}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def routing_schema(replica_pair: ReplicaPair) -> AsyncIterator[None]:
    """The table and the view, made on the primary; handed out once the replica has them."""
    await replica_pair.ensure_running()
    # A run killed inside replay_paused leaves replay paused; resuming a running replay is a no-op.
    await fetch_value(replica_pair.replica_url, "SELECT pg_wal_replay_resume()")
    await drop_schema(replica_pair.primary_url)
    orm = await ORM.init(url=replica_pair.primary_url, entities=[RoutedAuthor])
    try:
        await orm.schema.create()
        await orm.em.fork().execute(
            f"CREATE VIEW {SERVER_ROLE_VIEW} AS "
            f"SELECT pg_backend_pid() AS id, pg_is_in_recovery() AS replica"
        )
    finally:
        await orm.close()

    async def replica_has_view() -> bool:
        query = "SELECT to_regclass($1) IS NOT NULL"
        return await fetch_value(replica_pair.replica_url, query, SERVER_ROLE_VIEW) is True

    await replica_pair.wait_until_visible(replica_has_view, what=f"view {SERVER_ROLE_VIEW}")
    yield
    await replica_pair.ensure_running()
    await drop_schema(replica_pair.primary_url)


OpenOrm = Callable[..., Awaitable[ORM]]


@pytest_asyncio.fixture
async def open_orm(replica_pair: ReplicaPair, routing_schema: None) -> AsyncIterator[OpenOrm]:
    """``await open_orm(**options)``: an ORM on the primary with the replica (or ``replicas``),
    closed after the test."""
    opened: list[ORM] = []

    async def open_one(*, replicas: Sequence[str | Replica] | None = None, **options: Any) -> ORM:
        orm = await ORM.init(
            url=replica_pair.primary_url,
            entities=ENTITIES,
            replicas=[replica_pair.replica_url] if replicas is None else replicas,
            **options,
        )
        opened.append(orm)
        return orm

    yield open_one
    for orm in opened:
        await orm.close()


class FakeClock:
    """Stands in for ``orm.replicas.clock``: time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_reads_go_to_the_replica_unless_a_transaction_the_call_or_the_config_says_not(
    open_orm: OpenOrm,
) -> None:
    orm = await open_orm()

    assert await server_of(orm.em.fork()) == REPLICA
    assert await server_of(orm.em.fork(), connection="write") == PRIMARY
    assert await server_of(orm.em.fork(), connection="read") == REPLICA
    em = orm.em.fork()
    async with em.transaction():
        assert await server_of(em) == PRIMARY
        # The transaction's connection wins over what the call asks for.
        assert await server_of(em, connection="read") == PRIMARY
        assert await server_of(em, lock_mode=LockMode.PESSIMISTIC_WRITE) == PRIMARY
    # Raw SQL may write: the primary, unless it says it only reads.
    assert await server_of_raw_sql(orm.em.fork()) == PRIMARY
    assert await server_of_raw_sql(orm.em.fork(), connection="read") == REPLICA

    primary_first = await open_orm(prefer_read_replicas=False)
    assert await server_of(primary_first.em.fork()) == PRIMARY
    assert await server_of(primary_first.em.fork(), connection="read") == REPLICA
    assert await server_of(primary_first.em.fork(read_only=True)) == REPLICA


async def test_count_stream_cursor_pages_and_query_builder_reads_are_routed_too(
    open_orm: OpenOrm,
) -> None:
    orm = await open_orm()
    fork = orm.em.fork
    routes: list[tuple[ConnectionType | None, Server]] = [(None, REPLICA), ("write", PRIMARY)]
    for connection, server in routes:
        matching = {"replica": server == REPLICA}
        assert await fork().count(ServerRole, matching, connection=connection) == 1
        streamed = [role async for role in fork().stream(ServerRole, connection=connection)]
        page = await fork().find_by_cursor(
            ServerRole, order_by={"id": "asc"}, first=1, connection=connection
        )
        assert [server_named(role.replica) for role in [*streamed, *page]] == [server] * 2
    rows = await fork().create_query_builder(ServerRole).execute()
    assert [server_named(row["replica"]) for row in rows] == [REPLICA]


async def test_refresh_reads_the_row_from_the_primary(
    open_orm: OpenOrm, replica_pair: ReplicaPair
) -> None:
    orm = await open_orm()
    name = unique_name()
    await insert_author(replica_pair, name)
    em = orm.em.fork()
    author = await em.find_one_or_fail(RoutedAuthor, {"name": name})

    async with replica_pair.replay_paused():
        renamed = unique_name()
        update = f"UPDATE {AUTHOR_TABLE} SET name = $1 WHERE name = $2"
        await fetch_value(replica_pair.primary_url, update, renamed, name)
        await em.refresh(author)
        assert author.name == renamed  # the replica still has the old name


async def test_writes_go_to_the_primary_and_the_writer_reads_its_own_writes(
    open_orm: OpenOrm, replica_pair: ReplicaPair
) -> None:
    orm = await open_orm()
    flushed, upserted, inserted = unique_name(), unique_name(), unique_name()
    em, upserter, builder = orm.em.fork(), orm.em.fork(), orm.em.fork()
    async with replica_pair.replay_paused():
        em.persist(RoutedAuthor(name=flushed))
        await em.flush()
        await upserter.upsert(RoutedAuthor, {"name": upserted})
        await builder.create_query_builder(RoutedAuthor).insert({"name": inserted}).execute()

        for name in (flushed, upserted, inserted):
            assert await authors_named(replica_pair.primary_url, name) == 1
            assert await authors_named(replica_pair.replica_url, name) == 0
        # Each writer reads from the primary (its own write at once); a fresh fork, the replica.
        assert [a.name for a in await em.find(RoutedAuthor, {"name": flushed})] == [flushed]
        assert [await server_of(fork) for fork in (em, upserter, builder)] == [PRIMARY] * 3
        assert await orm.em.fork().find(RoutedAuthor, {"name": flushed}) == []
        assert await server_of(orm.em.fork()) == REPLICA

    await replica_pair.wait_until_visible(
        has_author(replica_pair.replica_url, flushed), what=f"author {flushed!r}"
    )
    # read_your_writes=None: for the rest of the fork's life.
    assert await server_of(em) == PRIMARY


async def flushed_fork(orm: ORM) -> EntityManager:
    em = orm.em.fork()
    em.persist(RoutedAuthor(name=unique_name()))
    await em.flush()
    return em


async def test_a_fork_reads_from_the_primary_only_within_read_your_writes(
    open_orm: OpenOrm,
) -> None:
    orm = await open_orm(read_your_writes=5)
    clock = FakeClock()
    orm.replicas.clock = clock
    em = await flushed_fork(orm)
    assert await server_of(em) == PRIMARY
    clock.now += 4.9
    assert await server_of(em) == PRIMARY
    clock.now += 0.2
    assert await server_of(em) == REPLICA

    unwindowed = await open_orm(read_your_writes=0)
    assert await server_of(await flushed_fork(unwindowed)) == REPLICA


async def test_a_read_only_fork_reads_from_the_replica_and_refuses_writes(
    open_orm: OpenOrm, replica_pair: ReplicaPair
) -> None:
    orm = await open_orm()
    name = unique_name()
    await insert_author(replica_pair, name)
    em = orm.em.fork(read_only=True)
    assert await server_of(em) == REPLICA
    author = await em.find_one_or_fail(RoutedAuthor, {"name": name})

    newcomer = unique_name()
    with pytest.raises(ReadOnlyError):
        em.persist(RoutedAuthor(name=newcomer))
    with pytest.raises(ReadOnlyError):
        em.create(RoutedAuthor, {"name": newcomer})
    with pytest.raises(ReadOnlyError):
        em.remove(author)
    author.name = unique_name()
    with pytest.raises(ReadOnlyError):
        await em.flush()
    with pytest.raises(ReadOnlyError):
        await em.upsert(RoutedAuthor, {"name": newcomer})
    with pytest.raises(ReadOnlyError):
        await em.create_query_builder(RoutedAuthor).delete({"name": name}).execute()
    with pytest.raises(ReadOnlyError):
        await em.execute(f"DELETE FROM {AUTHOR_TABLE} WHERE name = :name", {"name": name})

    assert await authors_named(replica_pair.primary_url, name) == 1
    assert await authors_named(replica_pair.primary_url, author.name) == 0
    assert await authors_named(replica_pair.primary_url, newcomer) == 0


async def test_reads_move_to_the_primary_while_the_replica_is_down(
    open_orm: OpenOrm, replica_pair: ReplicaPair
) -> None:
    orm = await open_orm(replica_backoff=(0.05, 0.2))
    assert await server_of(orm.em.fork()) == REPLICA

    await replica_pair.stop_replica()
    assert await server_of(orm.em.fork()) == PRIMARY
    assert await server_of_raw_sql(orm.em.fork(), connection="read") == PRIMARY
    (status,) = orm.replicas.status()
    assert (status.up, status.failures > 0, status.last_error is not None) == (False, True, True)

    await start_replica_and_see_it_used(replica_pair, orm)


async def test_a_replica_down_at_init_is_used_once_it_answers(
    open_orm: OpenOrm, replica_pair: ReplicaPair
) -> None:
    await replica_pair.stop_replica()
    orm = await open_orm(replica_backoff=(0.05, 0.2))
    assert not orm.replicas.status()[0].up
    assert await server_of(orm.em.fork()) == PRIMARY

    await start_replica_and_see_it_used(replica_pair, orm)


async def test_a_primary_that_is_down_fails_writes_while_reads_go_on(
    open_orm: OpenOrm, replica_pair: ReplicaPair
) -> None:
    orm = await open_orm()
    name = unique_name()
    em = orm.em.fork()
    em.persist(RoutedAuthor(name=name))

    await replica_pair.stop_primary()
    with pytest.raises(orm_errors.ConnectionError):
        await em.flush()
    assert await authors_named(replica_pair.replica_url, name) == 0
    reader = orm.em.fork()
    assert await server_of(reader) == REPLICA
    assert await reader.find(RoutedAuthor, {"name": name}) == []

    await replica_pair.start_primary()
    await em.flush()
    assert await authors_named(replica_pair.primary_url, name) == 1
    await replica_pair.wait_until_visible(
        has_author(replica_pair.replica_url, name), what=f"author {name!r}"
    )


async def test_reads_take_turns_over_the_replicas(
    open_orm: OpenOrm, replica_pair: ReplicaPair
) -> None:
    # Two pools on the one replica server, told apart by their connections' application_name.
    first = f"{replica_pair.replica_url}?application_name=routing_first"
    second = Replica(f"{replica_pair.replica_url}?application_name=routing_second", pool_max_size=2)
    em = (orm := await open_orm(replicas=[first, second])).em.fork()
    query = "SELECT current_setting('application_name') AS name"
    answered = [(await em.execute(query, connection="read")).rows[0]["name"] for _ in range(4)]
    assert answered == ["routing_first", "routing_second"] * 2
    assert [status.up for status in orm.replicas.status()] == [True, True]
