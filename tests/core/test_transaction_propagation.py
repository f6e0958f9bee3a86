"""``em.transaction(propagation=...)`` without a database: which statements each mode sends, on
which connection (BEGIN, SAVEPOINT, COMMIT, ROLLBACK), what it refuses before any I/O, and which
fork the block runs on. The rows on every database:
tests/compliance/test_transaction_propagation.py.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest

from orm.core import (
    DriverError,
    EntityManager,
    EntityStateError,
    InsertBatch,
    IsolationLevel,
    PrimaryKey,
    Propagation,
    ReadOnlyError,
    ValidationError,
    entity,
)
from orm.core.driver import Connection
from orm.core.query.ast import SelectQuery
from orm.core.state import Status, state_of

from .fakes import FakeDriver, FakeRawConnection, fake_orm


@entity
class Entry:
    id: int = PrimaryKey()
    text: str


class Boom(Exception):
    pass


class TaggedConnection(FakeRawConnection):
    """Records each statement as ``"<connection number>:<what>"`` in ``TracingDriver.trace``."""

    def __init__(self, driver: TracingDriver, number: int) -> None:
        super().__init__(driver)
        self.tracer = driver
        self.number = number

    def note(self, what: str) -> None:
        self.tracer.trace.append(f"{self.number}:{what}")

    async def begin(self, isolation_level: IsolationLevel | None = None) -> None:
        await super().begin(isolation_level)
        self.note("begin" if isolation_level is None else f"begin {isolation_level.name}")

    async def commit(self) -> None:
        await super().commit()
        self.note("commit")

    async def rollback(self) -> None:
        await super().rollback()
        self.note("rollback")

    async def savepoint(self, name: str) -> None:
        await super().savepoint(name)
        self.note(f"savepoint {name}")

    async def release_savepoint(self, name: str) -> None:
        await super().release_savepoint(name)
        self.note(f"release {name}")

    async def rollback_to_savepoint(self, name: str) -> None:
        await super().rollback_to_savepoint(name)
        self.note(f"rollback to {name}")

    async def insert(self, batch: InsertBatch) -> list[dict[str, Any]]:
        generated = await super().insert(batch)
        self.note("insert " + ",".join(str(row["text"]) for row in batch.rows))
        return generated

    async def find(self, query: SelectQuery) -> list[dict[str, Any]]:
        rows = await super().find(query)
        self.note("select")
        return rows


class TracingDriver(FakeDriver):
    """A fake driver whose every checkout is a new, numbered connection."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.trace: list[str] = []
        self.numbers = itertools.count(1)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        yield TaggedConnection(self, next(self.numbers))

    def take(self) -> list[str]:
        """The trace so far, with flush savepoints left out (every flush in a transaction
        has one, whatever the mode), then cleared."""
        trace = [line for line in self.trace if "orm_flush_" not in line]
        self.trace.clear()
        return trace


class NoSavepointsTracingDriver(TracingDriver):
    platform = replace(TracingDriver.platform, name="fake-no-sp", savepoints=False)


class NoTransactionsTracingDriver(TracingDriver):
    platform = replace(
        TracingDriver.platform, name="fake-no-tx", transactions=False, savepoints=False
    )


class OneConnectionTracingDriver(TracingDriver):
    platform = replace(TracingDriver.platform, name="fake-one", concurrent_connections=False)


async def setup(driver: type[TracingDriver] = TracingDriver) -> tuple[EntityManager, TracingDriver]:
    orm = await fake_orm([Entry], driver=driver)
    tracer = orm.driver
    assert isinstance(tracer, TracingDriver)
    return orm.em.fork(), tracer


def add(em: EntityManager, text: str) -> Entry:
    item = Entry(text=text)
    em.persist(item)
    return item


# -- the default and nested: a savepoint -------------------------------------------------------


async def test_the_default_inside_a_transaction_is_a_savepoint() -> None:
    em, driver = await setup()
    async with em.transaction():
        async with em.transaction():
            add(em, "a")
        async with em.transaction(propagation=Propagation.NESTED):
            add(em, "b")
    assert driver.take() == [
        "1:begin",
        "1:savepoint orm_sp_1",
        "1:insert a",
        "1:release orm_sp_1",
        "1:savepoint orm_sp_1",
        "1:insert b",
        "1:release orm_sp_1",
        "1:commit",
    ]


@pytest.mark.parametrize("mode", ["nested", "required", "requires_new"])
async def test_a_mode_that_starts_a_transaction_when_none_is_open(mode: str) -> None:
    em, driver = await setup()
    async with em.transaction(propagation=mode) as inner:  # type: ignore[arg-type]
        add(inner, "a")
    assert driver.take() == ["1:begin", "1:insert a", "1:commit"]
    # requires_new always runs on a fork of its own; the others on this one.
    assert (inner is em) == (mode != "requires_new")


# -- required: joins ---------------------------------------------------------------------------


async def test_required_joins_the_open_transaction_without_a_savepoint() -> None:
    em, driver = await setup()
    async with em.transaction():
        async with em.transaction(propagation="required") as inner:
            assert inner is em and em.in_transaction
            add(em, "a")
        # The block flushed at its end, in the outer transaction: nothing committed yet.
        assert driver.take() == ["1:begin", "1:insert a"]
    assert driver.take() == ["1:commit"]


async def test_a_failed_joined_block_dooms_the_transaction_even_if_the_error_is_caught() -> None:
    em, driver = await setup()
    outer = add(em, "outer")
    with pytest.raises(DriverError, match="a block that joined it") as info:
        async with em.transaction():
            with pytest.raises(Boom):
                async with em.transaction(propagation="required"):
                    add(em, "inner")
                    await em.flush()
                    raise Boom
            add(em, "after")
    assert isinstance(info.value.__cause__, Boom)
    assert 'propagation="nested"' in str(info.value)
    # The outer block could not commit: the flush at its end refused, and it rolled back.
    assert driver.take() == ["1:begin", "1:insert outer,inner", "1:rollback"]
    assert driver.tables.get("entry", []) == []
    # The fork is put back as it was before the transaction: everything pending again.
    assert state_of(outer).status is Status.NEW and outer.id is None


async def test_a_nested_block_undoes_a_failed_joined_block_inside_it() -> None:
    em, driver = await setup()
    async with em.transaction():
        add(em, "outer")
        with pytest.raises(DriverError, match="a block that joined it"):
            async with em.transaction():  # a savepoint
                with pytest.raises(Boom):
                    async with em.transaction(propagation="required"):
                        add(em, "inner")
                        await em.flush()
                        raise Boom
        # Rolled back to the savepoint: the transaction is usable again.
        add(em, "after")
    assert driver.take() == [
        "1:begin",
        "1:savepoint orm_sp_1",
        "1:insert outer,inner",
        "1:rollback to orm_sp_1",
        "1:insert inner,outer,after",
        "1:commit",
    ]


async def test_required_joins_on_a_driver_without_savepoints() -> None:
    em, driver = await setup(NoSavepointsTracingDriver)
    async with em.transaction():
        with pytest.raises(ValidationError, match='pass propagation="required" to join'):
            async with em.transaction():
                pass
        async with em.transaction(propagation="required"):
            add(em, "a")
    assert driver.take() == ["1:begin", "1:insert a", "1:commit"]


# -- requires_new: a new fork, connection and transaction --------------------------------------


async def test_requires_new_runs_on_a_new_fork_and_connection_and_commits_on_its_own() -> None:
    em, driver = await setup()
    with pytest.raises(Boom):
        async with em.transaction():
            pending = add(em, "outer")
            async with em.transaction(propagation="requires_new") as inner:
                assert inner is not em and inner.in_transaction
                assert pending not in inner  # the new fork shares nothing with this one
                audit = add(inner, "audit")
            # Committed while the outer transaction is still open.
            assert state_of(audit).status is Status.MANAGED and audit not in em
            raise Boom
    assert driver.take() == [
        "1:begin",
        "2:begin",
        "2:insert audit",
        "2:commit",
        "1:rollback",
    ]
    # The outer fork's change was never flushed by the inner block; it is still pending.
    assert state_of(pending).status is Status.NEW


async def test_a_failed_requires_new_block_rolls_back_alone() -> None:
    em, driver = await setup()
    async with em.transaction():
        add(em, "outer")
        await em.flush()
        with pytest.raises(Boom):
            async with em.transaction(propagation="requires_new") as inner:
                lost = add(inner, "lost")
                await inner.flush()
                raise Boom
        assert state_of(lost).status is Status.NEW  # the inner fork was put back
    assert driver.take() == [
        "1:begin",
        "1:insert outer",
        "2:begin",
        "2:insert lost",
        "2:rollback",
        "1:commit",
    ]


async def test_requires_new_takes_its_own_isolation_level() -> None:
    em, driver = await setup()
    async with (
        em.transaction(),
        em.transaction(propagation="requires_new", isolation_level=IsolationLevel.SERIALIZABLE),
    ):
        pass
    assert driver.take() == ["1:begin", "2:begin SERIALIZABLE", "2:commit", "1:commit"]


async def test_transactional_hands_work_the_new_fork() -> None:
    em, driver = await setup()

    async def work(inner: EntityManager) -> bool:
        add(inner, "a")
        return inner is em

    async with em.transaction():
        assert await em.transactional(work, propagation=Propagation.REQUIRES_NEW) is False
        assert await em.transactional(work, propagation=Propagation.REQUIRED) is True
    assert driver.take() == [
        "1:begin",
        "2:begin",
        "2:insert a",
        "2:commit",
        "1:insert a",
        "1:commit",
    ]


async def test_the_new_fork_of_a_read_only_fork_is_read_only() -> None:
    em, _ = await setup()
    reader = em.fork(read_only=True)
    async with reader.transaction(propagation="requires_new") as inner:
        assert inner.read_only
        with pytest.raises(ReadOnlyError):
            add(inner, "x")


# -- not_supported: a new fork without a transaction -------------------------------------------


async def test_not_supported_runs_outside_the_open_transaction() -> None:
    em, driver = await setup()
    async with em.transaction():
        async with em.transaction(propagation="not_supported") as inner:
            assert inner is not em and not inner.in_transaction
            await inner.find(Entry)
            item = add(inner, "a")
        # Committed by the block's own flush, though the outer transaction is still open.
        assert state_of(item).status is Status.MANAGED and item not in em
    # The read ran on a connection of its own, outside any transaction, and the flush at the
    # block's end was a transaction of its own.
    assert driver.take() == ["1:begin", "2:select", "3:begin", "3:insert a", "3:commit", "1:commit"]


# -- supports, mandatory, never ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["supports", "mandatory"])
async def test_supports_and_mandatory_join_the_open_transaction(mode: str) -> None:
    em, driver = await setup()
    async with em.transaction(), em.transaction(propagation=mode) as inner:  # type: ignore[arg-type]
        assert inner is em
        add(em, "a")
    assert driver.take() == ["1:begin", "1:insert a", "1:commit"]


@pytest.mark.parametrize("mode", ["supports", "never"])
async def test_supports_and_never_run_without_a_transaction_when_none_is_open(mode: str) -> None:
    em, driver = await setup()
    async with em.transaction(propagation=mode) as inner:  # type: ignore[arg-type]
        assert inner is em and not em.in_transaction
        await em.find(Entry)
        add(em, "a")
        await em.flush()  # a transaction of its own
        add(em, "b")
    assert driver.take() == [
        "1:select",
        "2:begin",
        "2:insert a",
        "2:commit",
        "3:begin",
        "3:insert b",
        "3:commit",
    ]


async def test_a_failed_block_without_a_transaction_keeps_what_it_flushed() -> None:
    em, driver = await setup()
    with pytest.raises(Boom):
        async with em.transaction(propagation="supports"):
            kept = add(em, "kept")
            await em.flush()
            pending = add(em, "pending")
            raise Boom
    assert driver.take() == ["1:begin", "1:insert kept", "1:commit"]
    assert state_of(kept).status is Status.MANAGED
    assert state_of(pending).status is Status.NEW


async def test_mandatory_without_a_transaction_is_refused_before_io() -> None:
    em, driver = await setup()
    with pytest.raises(EntityStateError, match='propagation="mandatory"\\) needs a transaction'):
        async with em.transaction(propagation="mandatory"):
            add(em, "never")
    assert driver.take() == []


async def test_never_inside_a_transaction_is_refused() -> None:
    em, driver = await setup()
    async with em.transaction():
        with pytest.raises(EntityStateError, match='propagation="never"\\) refuses'):
            async with em.transaction(propagation="never"):
                pass
    assert driver.take() == ["1:begin", "1:commit"]


# -- drivers without transactions or a second connection ---------------------------------------


async def test_without_transactions_only_the_modes_that_need_none_run() -> None:
    em, driver = await setup(NoTransactionsTracingDriver)
    for mode in ("required", "nested", "requires_new"):
        with pytest.raises(ValidationError, match="fake-no-tx driver has no transactions"):
            async with em.transaction(propagation=mode):
                pass
    with pytest.raises(EntityStateError, match="mandatory"):
        async with em.transaction(propagation="mandatory"):
            pass
    assert driver.take() == []
    for mode in ("supports", "never", "not_supported"):
        async with em.transaction(propagation=mode) as inner:  # type: ignore[arg-type]
            add(inner, mode)
    assert driver.take() == ["1:insert supports", "2:insert never", "3:insert not_supported"]


@pytest.mark.parametrize("mode", ["requires_new", "not_supported"])
async def test_a_second_connection_is_refused_where_the_database_serves_one(mode: str) -> None:
    em, driver = await setup(OneConnectionTracingDriver)
    async with em.transaction():
        with pytest.raises(ValidationError, match="needs a second connection") as info:
            async with em.transaction(propagation=mode):  # type: ignore[arg-type]
                pass
    assert "concurrent_connections is False" in str(info.value)
    assert driver.take() == ["1:begin", "1:commit"]
    # Outside a transaction there is no outer connection to wait for.
    async with em.transaction(propagation=mode) as inner:  # type: ignore[arg-type]
        add(inner, "a")
    assert driver.take() == ["2:begin", "2:insert a", "2:commit"]


# -- values and options ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["REQUIRES_NEW", "requires-new", Propagation.REQUIRES_NEW])
async def test_propagation_accepts_members_and_names(value: Any) -> None:
    em, _ = await setup()
    async with em.transaction(propagation=value) as inner:
        assert inner is not em


async def test_an_unknown_propagation_is_refused_with_the_choices() -> None:
    em, driver = await setup()
    with pytest.raises(
        ValidationError, match="propagation='join'\\) is not a propagation mode"
    ) as info:
        async with em.transaction(propagation="join"):  # type: ignore[arg-type]
            pass
    assert "'requires_new'" in str(info.value)
    assert driver.take() == []


@pytest.mark.parametrize(
    ("mode", "outer"), [("required", True), ("nested", True), ("supports", False)]
)
async def test_isolation_level_only_where_the_block_begins_the_transaction(
    mode: str, outer: bool
) -> None:
    em, _ = await setup()

    async def attempt() -> None:
        with pytest.raises(ValidationError, match="only be set on the outermost transaction"):
            async with em.transaction(
                propagation=mode,  # type: ignore[arg-type]
                isolation_level=IsolationLevel.SERIALIZABLE,
            ):
                pass

    if outer:
        async with em.transaction():
            await attempt()
    else:
        await attempt()
