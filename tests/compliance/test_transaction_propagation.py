"""Transaction propagation on every database: what each mode of
``em.transaction(propagation=...)`` leaves in the database when the outer transaction commits
or rolls back, the statements it sends (BEGIN, block SAVEPOINTs, COMMIT, ROLLBACK) and the
state of the fork afterwards. docs/transactions.md#propagation tables the same.

``requires_new`` and ``not_supported`` inside a transaction need a second connection at the
same time (``concurrent_connections``: not SQLite, where they are refused), ``nested`` a
savepoint (``savepoints``: not MongoDB, where it is refused with the existing message).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import pytest

from orm.core import (
    ORM,
    DriverError,
    EntityManager,
    EntityStateError,
    Propagation,
    ValidationError,
)
from orm.core.state import Status, state_of
from tests.compliance.conftest import MakeOrm
from tests.compliance.models import LIBRARY, Tag
from tests.conftest import StatementLog


class Abort(Exception):
    pass


@dataclass(frozen=True)
class Sent:
    """The transaction statements of a scenario."""

    begins: int
    block_savepoints: int
    commits: int
    rollbacks: int


def sent(log: StatementLog) -> Sent:
    return Sent(
        begins=log.count("BEGIN") + log.count("START"),  # MySQL: START TRANSACTION
        # A flush inside a transaction has a savepoint of its own (orm_flush_*) whatever the
        # mode; a nested block's is orm_sp_*.
        block_savepoints=sum("orm_sp_" in s for s in log.of_kind("SAVEPOINT")),
        commits=log.count("COMMIT"),
        rollbacks=log.count("ROLLBACK"),
    )


async def tag_names(orm: ORM) -> list[str]:
    return sorted(t.name for t in await orm.em.fork().find(Tag))


def add_tag(em: EntityManager, name: str) -> Tag:
    tag = Tag(name=name)
    em.persist(tag)
    return tag


SAVEPOINTS = pytest.mark.capability("savepoints")
SECOND_CONNECTION = pytest.mark.capability("concurrent_connections")

# mode, whether the block's rows survive an outer rollback, whether it runs on a new fork,
# and the statements of the scenario when the outer block commits / rolls back.
MODES = [
    pytest.param("required", False, False, Sent(1, 0, 1, 0), Sent(1, 0, 0, 1), id="required"),
    pytest.param("supports", False, False, Sent(1, 0, 1, 0), Sent(1, 0, 0, 1), id="supports"),
    pytest.param("mandatory", False, False, Sent(1, 0, 1, 0), Sent(1, 0, 0, 1), id="mandatory"),
    pytest.param(
        "nested", False, False, Sent(1, 1, 1, 0), Sent(1, 1, 0, 1), id="nested", marks=SAVEPOINTS
    ),
    pytest.param(
        "requires_new",
        True,
        True,
        Sent(2, 0, 2, 0),
        Sent(2, 0, 1, 1),
        id="requires_new",
        marks=SECOND_CONNECTION,
    ),
    # The block has no transaction: its flush is a transaction of its own.
    pytest.param(
        "not_supported",
        True,
        True,
        Sent(2, 0, 2, 0),
        Sent(2, 0, 1, 1),
        id="not_supported",
        marks=SECOND_CONNECTION,
    ),
]


@pytest.mark.parametrize(("mode", "survives", "new_fork", "on_commit", "on_rollback"), MODES)
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_each_mode_inside_a_transaction(
    make_orm: MakeOrm,
    sql_log: StatementLog,
    mode: Propagation,
    survives: bool,
    new_fork: bool,
    on_commit: Sent,
    on_rollback: Sent,
    outcome: str,
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    with pytest.raises(Abort) if outcome == "rollback" else nullcontext():
        async with em.transaction():
            outer = add_tag(em, "outer")
            await em.flush()
            async with em.transaction(propagation=mode) as block_em:
                assert (block_em is not em) == new_fork
                inner = add_tag(block_em, "inner")
            # The block ended: its row is written (in the outer transaction, or committed).
            assert state_of(inner).status is Status.MANAGED
            if outcome == "rollback":
                raise Abort
    assert sql_log.count("INSERT") == 2
    if outcome == "commit":
        assert await tag_names(orm) == ["inner", "outer"]
        assert sent(sql_log) == on_commit
        assert state_of(outer).status is Status.MANAGED
        return
    assert await tag_names(orm) == (["inner"] if survives else [])
    assert sent(sql_log) == on_rollback
    # The fork is as before the transaction's flushes: what it wrote is pending again. What
    # a block on a fork of its own committed stays committed there.
    assert state_of(outer).status is Status.NEW and outer.id is None
    if survives:
        assert state_of(inner).status is Status.MANAGED and inner not in em
    else:
        assert state_of(inner).status is Status.NEW and inner.id is None


async def test_a_failed_required_block_rolls_the_outer_transaction_back(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    with pytest.raises(DriverError, match="a block that joined it") as info:
        async with em.transaction():
            outer = add_tag(em, "outer")
            with pytest.raises(Abort):
                async with em.transaction(propagation="required"):
                    add_tag(em, "inner")
                    await em.flush()
                    raise Abort
            # Caught, but what the joined block wrote cannot be undone alone.
    assert isinstance(info.value.__cause__, Abort)
    assert await tag_names(orm) == []
    assert sent(sql_log) == Sent(begins=1, block_savepoints=0, commits=0, rollbacks=1)
    assert state_of(outer).status is Status.NEW


@SAVEPOINTS
async def test_a_failed_nested_block_rolls_back_alone(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    async with em.transaction():
        add_tag(em, "outer")
        with pytest.raises(Abort):
            async with em.transaction(propagation="nested"):
                inner = add_tag(em, "inner")
                await em.flush()
                raise Abort
        # Rolled back to the savepoint; the fork has the insert pending again: forget it.
        assert state_of(inner).status is Status.NEW
        em.remove(inner)
    assert await tag_names(orm) == ["outer"]
    assert sent(sql_log) == Sent(begins=1, block_savepoints=1, commits=1, rollbacks=1)
    assert sql_log.of_kind("ROLLBACK") == ["ROLLBACK TO SAVEPOINT orm_sp_1"]


@SECOND_CONNECTION
async def test_a_failed_requires_new_block_rolls_back_alone(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    async with em.transaction():
        outer = add_tag(em, "outer")
        with pytest.raises(Abort):
            async with em.transaction(propagation="requires_new") as inner_em:
                inner = add_tag(inner_em, "inner")
                await inner_em.flush()
                raise Abort
        # The inner fork was put back; this fork never saw the block's entity.
        assert state_of(inner).status is Status.NEW and inner not in em
    assert await tag_names(orm) == ["outer"]
    assert sent(sql_log) == Sent(begins=2, block_savepoints=0, commits=1, rollbacks=1)
    assert state_of(outer).status is Status.MANAGED


@pytest.mark.parametrize("mode", ["supports", "never"])
async def test_supports_and_never_without_a_transaction_flush_in_transactions_of_their_own(
    make_orm: MakeOrm, sql_log: StatementLog, mode: Propagation
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    with pytest.raises(Abort):
        async with em.transaction(propagation=mode) as block_em:
            assert block_em is em and not em.in_transaction
            first = add_tag(em, "first")
            await em.flush()
            second = add_tag(em, "second")
            await em.flush()
            pending = add_tag(em, "pending")
            raise Abort
    # Nothing to roll back: each flush committed on its own; the last change stays pending.
    assert await tag_names(orm) == ["first", "second"]
    assert sent(sql_log) == Sent(begins=2, block_savepoints=0, commits=2, rollbacks=0)
    assert state_of(first).status is Status.MANAGED and state_of(second).status is Status.MANAGED
    assert state_of(pending).status is Status.NEW


async def test_mandatory_and_never_refuse_before_sending_anything(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    with pytest.raises(EntityStateError, match="needs a transaction open on the fork"):
        async with em.transaction(propagation="mandatory"):
            add_tag(em, "never written")
    assert sql_log.statements == []
    async with em.transaction():
        with pytest.raises(EntityStateError, match="refuses to run inside a transaction"):
            async with em.transaction(propagation="never"):
                pass
    assert sent(sql_log) == Sent(begins=1, block_savepoints=0, commits=1, rollbacks=0)
    assert await tag_names(orm) == []  # the refused block never ran


async def test_nested_without_savepoints_is_refused_and_required_joins(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    async with em.transaction():
        add_tag(em, "outer")
        if not orm.driver.platform.savepoints:
            with pytest.raises(ValidationError, match="has no savepoints"):
                async with em.transaction(propagation="nested"):
                    pass
        async with em.transaction(propagation="required"):
            add_tag(em, "joined")
    assert await tag_names(orm) == ["joined", "outer"]
    assert sent(sql_log) == Sent(begins=1, block_savepoints=0, commits=1, rollbacks=0)


@pytest.mark.parametrize("mode", ["requires_new", "not_supported"])
async def test_a_second_connection_where_the_database_allows_one_at_a_time(
    make_orm: MakeOrm, sql_log: StatementLog, mode: Propagation
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    async with em.transaction():
        add_tag(em, "outer")
        if orm.driver.platform.concurrent_connections:
            async with em.transaction(propagation=mode) as block_em:
                add_tag(block_em, "inner")
        else:
            # It would wait for the outer transaction's connection, which waits for it.
            with pytest.raises(ValidationError, match="needs a second connection"):
                async with em.transaction(propagation=mode):
                    pass
    expected = ["inner", "outer"] if orm.driver.platform.concurrent_connections else ["outer"]
    assert await tag_names(orm) == expected
    # Outside a transaction the block needs no second connection, on any database.
    async with em.transaction(propagation=mode) as block_em:
        add_tag(block_em, "alone")
    assert "alone" in await tag_names(orm)
