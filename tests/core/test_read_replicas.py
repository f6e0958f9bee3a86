"""Read-replica routing without a database: which server each read and write goes to, the
rotation, back-off and recovery of replicas, read-only forks and the options' errors.

Each fake server holds one Author row named after it, so a read shows who answered.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, ClassVar

import pytest

from orm.core import (
    ORM,
    Config,
    ConfigurationError,
    LockMode,
    PoolTimeoutError,
    PrimaryKey,
    ReadOnlyError,
    Replica,
    TransactionConflictError,
    ValidationError,
    entity,
)
from orm.core.driver import Connection
from orm.core.errors import ConnectionError
from orm.core.metadata.model import EntityMetadata
from orm.core.state import meta_of

from .fakes import FakeDriver


@entity(table="rr_author")
class Author:
    id: int = PrimaryKey()
    name: str


class ServerFake(FakeDriver):
    """A fake server that can be down: connecting and checking out connections fail."""

    down: ClassVar[set[str]] = set()

    async def connect(self, entities: Sequence[EntityMetadata]) -> None:
        if self.url in self.down:
            raise ConnectionError(f"{self.url} does not answer")
        await super().connect(entities)
        if not self.rows(meta_of(Author)):
            self.add_row(meta_of(Author), {"id": 100, "name": self.url.split("://")[1]})

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        if self.url in self.down:
            raise ConnectionError(f"{self.url} does not answer")
        async with super().acquire() as connection:
            yield connection


class Clock:
    """A clock the test moves; it starts at the real one, which ORM.init used."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def servers_up() -> None:
    ServerFake.down.clear()


async def routed(replicas: Sequence[str | Replica] = ("fake://r1",), **options: Any) -> ORM:
    orm = await ORM.init(
        url="fake://primary", entities=[Author], driver=ServerFake, replicas=replicas, **options
    )
    orm.replicas.clock = Clock()
    return orm


def clock_of(orm: ORM) -> Clock:
    clock = orm.replicas.clock
    assert isinstance(clock, Clock)
    return clock


def server(orm: ORM, name: str) -> FakeDriver:
    if name == "primary":
        assert isinstance(orm.driver, FakeDriver)
        return orm.driver
    for member in orm.replicas.members:
        if member.name == f"fake://{name}":
            assert isinstance(member.driver, FakeDriver)
            return member.driver
    raise AssertionError(name)


async def answered(em: Any, **options: Any) -> str:
    """Who answered a find of Author 100 (the fork is cleared first: a read of a managed
    entity would keep its values)."""
    em.clear()
    rows = await em.find(Author, {"id": 100}, **options)
    return str(rows[0].name)


def writes_of(driver: FakeDriver) -> list[str]:
    return [op for op in driver.ops() if op not in ("find", "count", "ping")]


async def test_reads_go_round_robin_over_the_replicas() -> None:
    orm = await routed(["fake://r1", "fake://r2"])
    em = orm.em.fork()
    assert [await answered(em, connection="read") for _ in range(4)] == ["r1", "r2", "r1", "r2"]
    assert server(orm, "primary").queries() == []


async def test_writes_transactions_and_locking_reads_use_the_primary() -> None:
    orm = await routed()
    em = orm.em.fork()
    em.persist(Author(name="new"))
    await em.flush()
    assert "insert" in server(orm, "primary").ops()
    assert writes_of(server(orm, "r1")) == []
    other = orm.em.fork()
    async with other.transaction():
        assert await answered(other) == "primary"
        locked = await other.find(Author, {"id": 100}, lock_mode=LockMode.PESSIMISTIC_WRITE)
        assert locked[0].name == "primary"
    assert await answered(orm.em.fork()) == "r1"


async def test_a_fork_that_wrote_reads_from_the_primary_for_the_rest_of_its_life() -> None:
    orm = await routed()
    em = orm.em.fork()
    assert await answered(em) == "r1"
    em.persist(Author(name="new"))
    await em.flush()
    clock_of(orm).now += 10_000
    assert await answered(em) == "primary"
    assert await answered(orm.em.fork()) == "r1"


async def test_read_your_writes_lasts_the_configured_window() -> None:
    orm = await routed(read_your_writes=5)
    em = orm.em.fork()
    em.persist(Author(name="new"))
    await em.flush()
    assert await answered(em) == "primary"
    clock_of(orm).now += 4.9
    assert await answered(em) == "primary"
    clock_of(orm).now += 0.2
    assert await answered(em) == "r1"
    never = await routed(read_your_writes=0)
    em = never.em.fork()
    em.persist(Author(name="x"))
    await em.flush()
    assert await answered(em) == "r1"


async def test_a_read_can_ask_for_its_server() -> None:
    orm = await routed(prefer_read_replicas=False)
    em = orm.em.fork()
    assert await answered(em) == "primary"
    assert await answered(em, connection="read") == "r1"
    assert await em.count(Author, connection="read") == 1
    assert "count" in server(orm, "r1").ops()
    found = await em.find_one(Author, {"name": "r1"}, connection="read")
    assert found is not None
    streamed = [a.name async for a in em.stream(Author, connection="read")]
    assert streamed == ["r1"]
    await em.execute("SELECT 1", connection="read")
    assert ("execute", ("SELECT 1", None)) in server(orm, "r1").log
    with pytest.raises(ValidationError, match=r"find\(Author\): connection must be 'read'"):
        await em.find(Author, connection="replica")  # type: ignore[arg-type]


async def test_refresh_raw_statements_and_explicit_writes_go_to_the_primary() -> None:
    orm = await routed()
    em = orm.em.fork()
    author = (await em.find(Author))[0]
    assert author.name == "r1"
    await em.refresh(author)
    assert author.name == "primary"
    fresh = orm.em.fork()
    await fresh.execute("UPDATE rr_author SET name = 'x'")
    assert ("execute", ("UPDATE rr_author SET name = 'x'", None)) in server(orm, "primary").log
    assert await answered(fresh) == "primary"  # em.execute counts as a write
    assert await answered(orm.em.fork(), connection="write") == "primary"


async def test_a_read_only_fork_reads_from_replicas_and_refuses_writes() -> None:
    orm = await routed(prefer_read_replicas=False)
    reader = orm.em.fork(read_only=True)
    assert reader.read_only and not orm.em.fork().read_only
    author = (await reader.find(Author))[0]
    assert author.name == "r1"
    primary = server(orm, "primary")
    primary.clear_log()
    author.name = "changed"
    with pytest.raises(ReadOnlyError, match=r"flush\(\) on a read-only EntityManager"):
        await reader.flush()
    with pytest.raises(ReadOnlyError, match=r"persist\(\)"):
        reader.persist(Author(name="no"))
    with pytest.raises(ReadOnlyError, match=r"remove\(\)"):
        reader.remove(author)
    with pytest.raises(ReadOnlyError, match=r"create\(Author\)"):
        reader.create(Author, {"id": 9, "name": "no"})
    with pytest.raises(ReadOnlyError, match=r"upsert\(\)"):
        await reader.upsert(Author, {"id": 9, "name": "no"})
    with pytest.raises(ReadOnlyError, match=r"em.execute\(\)"):
        await reader.execute("DELETE FROM rr_author")
    assert primary.ops() == []
    assert author.name == "changed"  # the change stays pending, as after any failed flush
    with pytest.raises(ValidationError, match="read_only"):
        orm.em.fork(read_only="yes")  # type: ignore[arg-type]


async def test_a_replica_that_fails_is_skipped_then_checked_and_used_again() -> None:
    orm = await routed(["fake://r1", "fake://r2"], replica_backoff=(1.0, 4.0))
    em = orm.em.fork()
    ServerFake.down.add("fake://r1")
    assert [await answered(em) for _ in range(3)] == ["r2", "r2", "r2"]
    status = {s.name: s for s in orm.replicas.status()}
    assert not status["fake://r1"].up and status["fake://r1"].failures == 1
    assert status["fake://r1"].retry_in == 1.0 and "does not answer" in str(
        status["fake://r1"].last_error
    )
    assert status["fake://r2"].up
    ServerFake.down.add("fake://r2")
    assert await answered(em) == "primary"  # every replica down: no error, the primary reads
    clock_of(orm).now += 1.5
    ServerFake.down.discard("fake://r1")
    server(orm, "r1").clear_log()
    assert await answered(em) == "r1"
    assert server(orm, "r1").ops()[0] == "ping"  # checked before it serves reads again
    assert {s.name: s.up for s in orm.replicas.status()} == {"fake://r1": True, "fake://r2": False}
    # r2's back-off had passed too, and its check failed: the next wait doubles.
    r2 = {s.name: s for s in orm.replicas.status()}["fake://r2"]
    assert r2.failures == 2 and r2.retry_in == 2.0
    clock_of(orm).now += 2.0
    await answered(em)
    r2 = {s.name: s for s in orm.replicas.status()}["fake://r2"]
    assert r2.failures == 3 and r2.retry_in == 4.0  # the longest wait


async def test_a_replica_down_at_init_is_left_out_until_it_answers() -> None:
    ServerFake.down.add("fake://r1")
    orm = await routed(replica_backoff=(1.0, 30.0))
    assert await answered(orm.em.fork()) == "primary"
    ServerFake.down.clear()
    assert await answered(orm.em.fork()) == "primary"  # still backing off
    clock_of(orm).now += 1.0
    assert await answered(orm.em.fork()) == "r1"


@pytest.mark.parametrize(
    "error",
    [
        TransactionConflictError("canceling statement due to conflict with recovery"),
        PoolTimeoutError("no connection became free"),
    ],
)
async def test_a_conflict_or_a_busy_pool_moves_the_read_without_marking_the_replica_down(
    error: BaseException,
) -> None:
    orm = await routed(["fake://r1", "fake://r2"])

    def failure(op: str, payload: Any) -> BaseException | None:
        return error if op == "find" else None

    server(orm, "r1").fail_when(failure)
    assert await answered(orm.em.fork()) == "r2"
    assert all(s.up for s in orm.replicas.status())


async def test_a_primary_that_is_down_is_an_error_never_a_write_to_a_replica() -> None:
    orm = await routed()
    em = orm.em.fork()
    em.persist(Author(name="new"))
    ServerFake.down.add("fake://primary")
    with pytest.raises(ConnectionError, match="fake://primary does not answer"):
        await em.flush()
    assert writes_of(server(orm, "r1")) == []
    assert await answered(orm.em.fork()) == "r1"  # reads still work
    ServerFake.down.clear()
    await em.flush()
    assert "insert" in server(orm, "primary").ops()


async def test_replica_options_and_close() -> None:
    orm = await routed([Replica("fake://r1", pool_max_size=3)], pool_max_size=10)
    r1 = server(orm, "r1")
    assert r1.options == {"pool_max_size": 3}
    assert server(orm, "primary").options == {"pool_max_size": 10}
    await orm.close()
    assert r1.closed and server(orm, "primary").closed


async def test_without_replicas_everything_uses_the_primary() -> None:
    orm = await ORM.init(url="fake://primary", entities=[Author], driver=ServerFake)
    assert not orm.replicas and orm.replicas.status() == []
    assert await answered(orm.em.fork(read_only=True), connection="read") == "primary"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"replicas": "fake://r1"}, r"takes a list of URLs, got one string"),
        ({"replicas": [42]}, r"replicas\[0\] must be a URL or a Replica"),
        ({"prefer_read_replicas": "yes"}, r"prefer_read_replicas must be True or False"),
        ({"read_your_writes": -1}, r"read_your_writes must be None .* or seconds >= 0"),
        ({"replica_backoff": (0, 1)}, r"replica_backoff must be \(first wait, longest wait\)"),
    ],
)
async def test_bad_replica_options_are_configuration_errors(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        await ORM.init(url="fake://primary", entities=[Author], driver=ServerFake, **options)


async def test_a_replica_of_another_kind_of_database_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"is a postgresql:// URL, but the primary is"):
        await ORM.init(
            url="sqlite://:memory:",
            entities=[Author],
            replicas=["postgresql://app:secret@replica/app"],
        )


async def test_a_driver_without_replica_routing_refuses_replicas() -> None:
    class DocumentStore(ServerFake):
        platform = replace(FakeDriver.platform, name="docs", read_replicas=False)

    with pytest.raises(ConfigurationError, match=r"docs driver does not take Config.replicas"):
        await ORM.init(
            url="fake://primary", entities=[Author], driver=DocumentStore, replicas=["fake://r"]
        )


def test_config_repr_hides_replica_passwords() -> None:
    config = Config(
        url="fake://primary",
        replicas=["postgresql://app:hunter2@r1/app", Replica("postgresql://app:pw@r2/app")],
    )
    shown = repr(config)
    assert "hunter2" not in shown and "pw@" not in shown and "r1/app" in shown
