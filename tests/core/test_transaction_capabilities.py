"""What the core leaves to the driver: transactions, savepoints, raw statements, batch sizes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from orm.core import ManyToOne, PrimaryKey, UpdateBatch, ValidationError, entity
from orm.core.state import Status, meta_of, state_of

from .fakes import (
    FakeDriver,
    FakeRawConnection,
    NoSavepointsDriver,
    NoTransactionsDriver,
    driver_of,
    fake_orm,
)


@entity
class Ledger:
    id: int = PrimaryKey()
    name: str


@entity
class LedgerLine:
    id: int = PrimaryKey()
    amount: int
    ledger: Ledger = ManyToOne(Ledger)


ENTITIES = [Ledger, LedgerLine]


# -- Platform.transactions = False ------------------------------------------------------------


async def test_flush_without_transactions_sends_no_begin_or_commit() -> None:
    orm = await fake_orm(ENTITIES, driver=NoTransactionsDriver)
    driver = driver_of(orm)
    em = orm.em.fork()
    ledger = Ledger(name="cash")
    em.persist(LedgerLine(amount=5, ledger=ledger))
    driver.clear_log()
    await em.flush()
    assert driver.ops() == ["insert", "insert"]
    assert state_of(ledger).status is Status.MANAGED and ledger.id is not None
    assert len(driver.rows(meta_of(LedgerLine))) == 1


async def test_failed_flush_without_transactions_keeps_earlier_batches_and_changes_pending() -> (
    None
):
    orm = await fake_orm(ENTITIES, driver=NoTransactionsDriver)
    driver = driver_of(orm)
    em = orm.em.fork()
    ledger = Ledger(name="cash")
    line = LedgerLine(amount=5, ledger=ledger)
    em.persist(line)
    driver.fail_on("insert", table="ledger_line")
    with pytest.raises(RuntimeError, match="fake insert failure"):
        await em.flush()
    # Each batch is atomic on its own: the ledger row stays written, nothing is rolled back...
    assert driver.ops() == ["insert", "insert"]
    assert len(driver.rows(meta_of(Ledger))) == 1
    assert driver.rows(meta_of(LedgerLine)) == []
    # ...while the fork still holds every change as pending, as before the flush.
    assert state_of(ledger).status is Status.NEW and ledger.id is None
    assert state_of(line).status is Status.NEW


async def test_transaction_without_transactions_is_refused_before_io() -> None:
    orm = await fake_orm(ENTITIES, driver=NoTransactionsDriver)
    driver = driver_of(orm)
    em = orm.em.fork()
    driver.clear_log()
    message = r"fake-no-tx driver has no transactions \(Platform.transactions is False\)"
    with pytest.raises(ValidationError, match=message):
        async with em.transaction():
            em.persist(Ledger(name="never"))
    with pytest.raises(ValidationError, match=message):
        await em.transactional(lambda inner: inner.flush())
    assert driver.log == []
    assert not em.in_transaction


# -- Platform.savepoints = False --------------------------------------------------------------


async def test_flush_inside_a_transaction_without_savepoints_uses_no_savepoint() -> None:
    orm = await fake_orm(ENTITIES, driver=NoSavepointsDriver)
    driver = driver_of(orm)
    em = orm.em.fork()
    driver.clear_log()
    async with em.transaction():
        em.persist(Ledger(name="cash"))
        await em.flush()
    assert driver.ops() == ["begin", "insert", "commit"]


async def test_nested_transaction_without_savepoints_is_refused() -> None:
    orm = await fake_orm(ENTITIES, driver=NoSavepointsDriver)
    driver = driver_of(orm)
    em = orm.em.fork()
    driver.clear_log()
    outer = Ledger(name="outer")
    with pytest.raises(ValidationError, match=r"fake-no-sp driver has no savepoints") as info:
        async with em.transaction():
            em.persist(outer)
            async with em.transaction():
                em.persist(Ledger(name="inner"))
    assert "cannot be nested" in str(info.value)
    # The error left the outer block, which rolled back: no savepoint was ever asked for.
    assert driver.ops() == ["begin", "rollback"]
    assert driver.rows(meta_of(Ledger)) == []
    assert not em.in_transaction


async def test_nested_transaction_without_savepoints_can_be_caught_in_the_outer_block() -> None:
    orm = await fake_orm(ENTITIES, driver=NoSavepointsDriver)
    driver = driver_of(orm)
    em = orm.em.fork()
    driver.clear_log()
    async with em.transaction():
        em.persist(Ledger(name="outer"))
        with pytest.raises(ValidationError, match="no savepoints"):
            async with em.transaction():
                pass
    assert driver.ops() == ["begin", "insert", "commit"]
    assert len(driver.rows(meta_of(Ledger))) == 1


# -- em.execute and the batch sizing of updates go through the driver -------------------------


async def test_execute_on_a_driver_without_raw_statements_names_the_driver() -> None:
    orm = await fake_orm(ENTITIES, driver=NoTransactionsDriver)
    with pytest.raises(ValidationError, match=r"the fake-no-tx driver runs no raw statements"):
        await orm.em.fork().execute("SELECT 1")


async def test_execute_runs_on_a_connection_with_raw_statements() -> None:
    orm = await fake_orm(ENTITIES)
    driver = driver_of(orm)
    driver.clear_log()
    result = await orm.em.fork().execute("SELECT :x", {"x": 1})
    assert result.rowcount == 0
    assert driver.log == [("execute", ("SELECT :x", {"x": 1}))]


class SixParameters(FakeDriver):
    platform = replace(FakeDriver.platform, name="fake-six", max_parameters=6)


class KeyTwice(FakeRawConnection):
    def parameters_per_update_row(self, values: int, keys: int) -> int:
        return values + 2 * keys


class SixParametersKeyTwice(SixParameters):
    connection_class = KeyTwice


@pytest.mark.parametrize(
    ("driver", "sizes"), [(SixParameters, [3, 1]), (SixParametersKeyTwice, [2, 2])]
)
async def test_update_batches_are_sized_by_the_connection(
    driver: type[FakeDriver], sizes: list[int]
) -> None:
    orm = await fake_orm(ENTITIES, driver=driver)
    fake = driver_of(orm)
    em = orm.em.fork()
    ledgers = [Ledger(name=f"l{i}") for i in range(4)]
    em.persist(ledgers)
    await em.flush()
    for ledger in ledgers:
        ledger.name += "!"
    fake.clear_log()
    await em.flush()
    assert [len(batch.rows) for batch in fake.writes()] == sizes
    assert all(isinstance(batch, UpdateBatch) for batch in fake.writes())
