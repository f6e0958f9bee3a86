"""Read-replica routing on every SQL database, with a second pool as the replica.

The "replica" is another database on the same server (another file on SQLite) that never
receives the primary's writes: a replica lagging forever. Each side holds one row named after
it, so every read shows which server answered. tests/replication runs the same rules against a
real PostgreSQL streaming replica.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from orm.core import ORM, EntityManager, LockMode, PrimaryKey, ReadOnlyError, entity
from tests.databases import database_url, with_database

pytestmark = pytest.mark.capability("read_replicas")


@entity(table="routing_author")
class RoutedAuthor:
    id: int = PrimaryKey()
    name: str


Routed = Callable[..., Awaitable[ORM]]


def _urls(database: str, tmp_path: Path) -> tuple[str, str]:
    if database == "sqlite":
        return f"sqlite:///{tmp_path}/primary.db", f"sqlite:///{tmp_path}/replica.db"
    primary = database_url(database)
    suffix = os.environ.get("ORM_TEST_DB_SUFFIX", "")
    return primary, with_database(primary, f"orm_routing_replica{suffix}")


@pytest.fixture
async def routed(database: str, tmp_path: Path) -> AsyncIterator[Routed]:
    """``orm = await routed(**options)``: an ORM whose one replica is a second database; the
    primary holds a row named "primary", the replica one named "replica"."""
    primary_url, replica_url = _urls(database, tmp_path)
    plain: list[ORM] = []
    for url, name in ((primary_url, "primary"), (replica_url, "replica")):
        orm = await ORM.init(url=url, entities=[RoutedAuthor])
        plain.append(orm)
        await orm.schema.drop()
        await orm.schema.create()
        em = orm.em.fork()
        em.persist(RoutedAuthor(name=name))
        await em.flush()
    opened: list[ORM] = []

    async def factory(**options: Any) -> ORM:
        orm = await ORM.init(
            url=primary_url, entities=[RoutedAuthor], replicas=[replica_url], **options
        )
        opened.append(orm)
        return orm

    yield factory
    for orm in opened:
        await orm.close()
    for orm in plain:
        try:
            await orm.schema.drop()
        finally:
            await orm.close()


async def names(em: EntityManager, **options: Any) -> list[str]:
    """The names a find returns (the fork is cleared first, so the rows are what was read)."""
    em.clear()
    return sorted(a.name for a in await em.find(RoutedAuthor, **options))


async def test_reads_come_from_the_replica_and_writes_go_to_the_primary(routed: Routed) -> None:
    orm = await routed()
    assert await names(orm.em.fork()) == ["replica"]
    writer = orm.em.fork()
    writer.persist(RoutedAuthor(name="new"))
    await writer.flush()
    assert await names(orm.em.fork()) == ["replica"]
    assert await names(orm.em.fork(), connection="write") == ["new", "primary"]
    assert await orm.em.fork().count(RoutedAuthor) == 1
    assert await orm.em.fork().count(RoutedAuthor, connection="write") == 2


async def test_a_fork_reads_its_own_writes_from_the_primary(routed: Routed) -> None:
    orm = await routed()
    em = orm.em.fork()
    author = (await em.find(RoutedAuthor))[0]
    assert author.name == "replica"
    em.persist(RoutedAuthor(name="mine"))
    await em.flush()
    assert await names(em) == ["mine", "primary"]
    assert await names(em, connection="read") == ["replica"]
    found = await orm.em.fork(read_only=False).find_one(RoutedAuthor, {"name": "mine"})
    assert found is None  # another fork reads the replica, which lags


async def test_transactions_use_the_primary(routed: Routed) -> None:
    orm = await routed()
    em = orm.em.fork()
    async with em.transaction():
        assert await names(em) == ["primary"]
        assert await names(em, connection="read") == ["primary"]  # the transaction wins
    assert await names(orm.em.fork()) == ["replica"]


@pytest.mark.capability("lock_modes")
async def test_locking_reads_use_the_primary(routed: Routed) -> None:
    orm = await routed()
    em = orm.em.fork()
    async with em.transaction():
        locked = await em.find(RoutedAuthor, lock_mode=LockMode.PESSIMISTIC_WRITE)
        assert [a.name for a in locked] == ["primary"]


async def test_options_choose_the_server(routed: Routed) -> None:
    orm = await routed(prefer_read_replicas=False)
    em = orm.em.fork()
    assert await names(em) == ["primary"]
    assert await names(em, connection="read") == ["replica"]
    page = await em.find_by_cursor(RoutedAuthor, order_by={"id": "asc"}, first=5, connection="read")
    assert [a.name for a in page.items] == ["replica"]
    em.clear()
    streamed = [a.name async for a in em.stream(RoutedAuthor, connection="read")]
    assert streamed == ["replica"]
    table = "routing_author"
    rows = (await em.execute(f"SELECT name FROM {table}", connection="read")).rows
    assert [r["name"] for r in rows] == ["replica"]
    rows = (await em.execute(f"SELECT name FROM {table}")).rows
    assert [r["name"] for r in rows] == ["primary"]


async def test_query_builder_reads_follow_the_rules_and_its_writes_go_to_the_primary(
    routed: Routed,
) -> None:
    orm = await routed()
    em = orm.em.fork()
    rows = await em.create_query_builder(RoutedAuthor).select("name").execute()
    assert [r["name"] for r in rows] == ["replica"]
    await em.create_query_builder(RoutedAuthor).insert({"name": "built"}).execute()
    assert await names(orm.em.fork(), connection="write") == ["built", "primary"]
    assert await names(em) == ["built", "primary"]  # a query-builder write is a write


async def test_a_read_only_fork_reads_replicas_and_refuses_every_write(routed: Routed) -> None:
    orm = await routed(prefer_read_replicas=False)
    reader = orm.em.fork(read_only=True)
    author = (await reader.find(RoutedAuthor))[0]
    assert author.name == "replica"
    author.name = "changed"
    with pytest.raises(ReadOnlyError, match=r"flush\(\) on a read-only EntityManager"):
        await reader.flush()
    with pytest.raises(ReadOnlyError):
        reader.persist(RoutedAuthor(name="no"))
    with pytest.raises(ReadOnlyError):
        await reader.upsert(RoutedAuthor, {"id": 1, "name": "no"})
    with pytest.raises(ReadOnlyError):
        await reader.create_query_builder(RoutedAuthor).insert({"name": "no"}).execute()
    with pytest.raises(ReadOnlyError):
        await reader.execute("DELETE FROM routing_author")
    assert await names(orm.em.fork()) == ["primary"]  # nothing reached the primary


async def test_a_replica_that_does_not_answer_leaves_reads_on_the_primary(
    database: str, tmp_path: Path
) -> None:
    primary_url, _ = _urls(database, tmp_path)
    dead = {
        "sqlite": f"sqlite:///{tmp_path}/missing-folder/replica.db",
        "postgres": "postgresql://postgres@127.0.0.1:1/orm_test",
        "mariadb": "mysql://root@127.0.0.1:1/orm_test",
    }[database]
    timeout: dict[str, Any] = {} if database == "sqlite" else {"connect_timeout": 2}
    orm = await ORM.init(url=primary_url, entities=[RoutedAuthor], replicas=[dead], **timeout)
    try:
        await orm.schema.drop()
        await orm.schema.create()
        em = orm.em.fork()
        em.persist(RoutedAuthor(name="primary"))
        await em.flush()
        assert await names(orm.em.fork()) == ["primary"]
        (status,) = orm.replicas.status()
        assert not status.up and status.failures >= 1 and status.last_error
    finally:
        await orm.schema.drop()
        await orm.close()
