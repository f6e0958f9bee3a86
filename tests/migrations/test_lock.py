"""Two runs at once: one migrates, the other waits for the lock and then finds nothing to do."""

from __future__ import annotations

import asyncio

import pytest

from orm.core.errors import DriverError
from orm.migrations import MigrationLockError, Migrator, Progress
from orm.migrations.connection import sql_connection, sql_driver
from orm.migrations.lock import MigrationLock, lock_for
from orm.query_builder import SqlConnection
from tests.migrations.conftest import MakeOrm
from tests.migrations.models import version_1

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")

SLOW_MIGRATION = """
import asyncio

from orm.migrations import Migration, StepContext


async def slow_insert(ctx: StepContext) -> None:
    await asyncio.sleep(0.5)
    await ctx.execute("INSERT INTO runs (n) VALUES (1)")


class Slow(Migration):
    def up(self) -> None:
        self.add_sql("CREATE TABLE runs (n INTEGER)")
        self.add_step(slow_insert)

    def down(self) -> None:
        self.add_sql("DROP TABLE runs")
"""


async def test_concurrent_runs_execute_each_migration_once(make_orm: MakeOrm) -> None:
    first, second = await make_orm(version_1()), await make_orm(version_1())
    notices: list[str] = []
    migrators = [Migrator(orm, progress=Progress(notice=notices.append)) for orm in (first, second)]
    migrators[0].folder.mkdir(parents=True)
    (migrators[0].folder / "20250101000000_slow.py").write_text(SLOW_MIGRATION)

    results = await asyncio.gather(*(m.up() for m in migrators))
    assert sorted(len(r.names) for r in results) == [0, 1]
    assert any("waiting" in notice and "migration lock" in notice for notice in notices)
    rows = await first.em.fork().execute("SELECT COUNT(*) AS n FROM runs")
    assert int(rows.rows[0]["n"]) == 1
    assert [m.name for m in await migrators[1].executed()] == ["20250101000000_slow"]


async def test_a_held_lock_makes_a_run_fail_after_the_timeout(make_orm: MakeOrm) -> None:
    holder, waiter = await make_orm(version_1()), await make_orm(version_1())
    migrator = Migrator(waiter, lock_timeout=0.3)
    driver = sql_driver(holder.driver)
    lock = lock_for(driver, migrator.storage.name)
    async with sql_connection(driver) as connection:
        await lock.acquire(connection, wait_seconds=0)
        try:
            with pytest.raises(MigrationLockError, match=r"held by .*0\.3 s"):
                await migrator.up()
        finally:
            await lock.release(connection)
    assert (await migrator.up()).names == []  # free again


async def test_the_lock_error_names_the_holder(make_orm: MakeOrm) -> None:
    holder, waiter = await make_orm(version_1()), await make_orm(version_1())
    migrator = Migrator(waiter, lock_timeout=0.2)
    driver = sql_driver(holder.driver)
    lock = lock_for(driver, migrator.storage.name)
    async with sql_connection(driver) as connection:
        await lock.acquire(connection, wait_seconds=0)
        try:
            with pytest.raises(MigrationLockError) as caught:
                await migrator.up()
        finally:
            await lock.release(connection)
    expected = {
        "postgresql": "held by server process",
        "mysql": "held by connection",
        "mariadb": "held by connection",
        "sqlite": "DELETE FROM",  # how to remove a lock left behind by a crashed run
    }[driver.dialect.name]
    assert expected in str(caught.value)


class _Unreadable(MigrationLock):
    """Always held, by someone the database cannot name."""

    async def try_acquire(self, connection: SqlConnection) -> bool:
        return False

    async def release(self, connection: SqlConnection) -> None:
        return None

    async def holder(self, connection: SqlConnection) -> str:
        raise DriverError("no such table: orm_migrations_lock")


async def test_a_holder_that_cannot_be_read_does_not_replace_the_lock_error(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(version_1())
    notices: list[str] = []
    async with sql_connection(sql_driver(orm.driver)) as connection:
        with pytest.raises(MigrationLockError, match="held by another migration run"):
            await _Unreadable("orm_migrations").acquire(
                connection, wait_seconds=0.1, on_wait=notices.append
            )
    assert notices and "another migration run" in notices[0]


async def test_the_holder_can_be_asked_before_any_run_took_the_lock(make_orm: MakeOrm) -> None:
    orm = await make_orm(version_1())
    driver = sql_driver(orm.driver)
    lock = lock_for(driver, "orm_migrations")
    async with sql_connection(driver) as connection:
        # As a second run does whose first try failed while the first run was still creating
        # the lock (on SQLite: the lock table).
        assert await lock.holder(connection) == "another migration run"
