"""A flush task cancelled at each of its await points: rolled back, nothing leaked, nothing lost.

The proxy passes statement k on to the server and, at that moment, the test cancels the task
running ``em.flush()``, which is then waiting for the answer to statement k. Before COMMIT the
transaction must be rolled back (nothing written), the pool must get its connection back (or
discard it: aiomysql closes a connection whose read was cancelled), and the fork must keep every
pending change, so that a later flush writes exactly the intended data.

Cancelled while waiting for COMMIT's answer, the server has committed: orm waits for that
answer (the COMMIT is shielded), applies the flush to the fork, then lets CancelledError out.
"""

from __future__ import annotations

import asyncio

import pytest

from orm.core.state import Status, state_of
from tests.compliance.models import Author

from .checks import ROUNDS, check_pool, reference_run
from .conftest import FaultRig, Figures
from .proxy import Statement
from .scenario import fingerprint, partial_writes, seed, stage, stored


async def cancelled_flush(rig: FaultRig, k: int) -> tuple[list[object], list[tuple[object, ...]]]:
    """Stage the unit of work and flush it in a task cancelled at statement ``k``."""
    await seed(rig.proxied)
    em = rig.proxied.em.fork()
    entities = await stage(em)
    pending = fingerprint(entities)
    task: asyncio.Task[None] = asyncio.create_task(em.flush())

    def cancel(statement: Statement) -> None:
        task.cancel()

    rig.proxy.on_statement(k, cancel)
    rig.proxy.delay = 0.005  # answers come late: the cancellation lands while the task waits
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert task.cancelled()
    rig.proxy.reset()
    entities.append(em)
    return entities, pending


async def test_a_flush_cancelled_at_each_statement(rig: FaultRig, figures: Figures) -> None:
    before, expected, statements, _ = await reference_run(rig)
    # COMMIT (the last statement) has a test of its own.
    for k in [k for _ in range(ROUNDS) for k in range(1, statements)]:
        entities, pending = await cancelled_flush(rig, k)
        em = entities.pop()
        figures.add("cancellations")
        after = await stored(rig.direct)
        figures.add("partial_writes", partial_writes(before, after, expected))
        assert after == before, f"a flush cancelled at statement {k} left writes behind"
        assert fingerprint(entities) == pending, f"cancelled at statement {k}: the fork changed"
        await check_pool(rig, figures, used=False)
        await em.flush()  # type: ignore[attr-defined]
        assert await stored(rig.direct) == expected
        await check_pool(rig, figures)


async def test_a_flush_cancelled_while_committing(rig: FaultRig, figures: Figures) -> None:
    before, expected, statements, _ = await reference_run(rig)
    entities, _ = await cancelled_flush(rig, statements)
    em = entities.pop()
    figures.add("cancellations")
    after = await stored(rig.direct)
    figures.add("partial_writes", partial_writes(before, after, expected))
    assert after == expected  # COMMIT reached the server
    # The fork matches: the new entities are managed with their keys, the removed book is gone.
    newcomer = entities[3]
    old_book = entities[2]
    assert state_of(newcomer).status is Status.MANAGED
    assert newcomer.id is not None  # type: ignore[attr-defined]
    assert state_of(old_book).status is Status.REMOVED
    await check_pool(rig, figures)
    await em.flush()  # type: ignore[attr-defined]  # nothing pending: sends nothing
    assert await stored(rig.direct) == expected


async def test_a_transaction_cancelled_while_committing(rig: FaultRig, figures: Figures) -> None:
    """``async with em.transaction()`` cancelled once its COMMIT is sent: the same guarantee."""
    await seed(rig.proxied)
    before = await stored(rig.direct)
    em = rig.proxied.em.fork()

    async def work() -> list[object]:
        async with em.transaction():
            return await stage(em)

    task = asyncio.create_task(work())
    rig.proxy.on_sql("COMMIT", lambda statement: task.cancel())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    rig.proxy.reset()
    figures.add("cancellations")
    after = await stored(rig.direct)
    assert after != before and len(after["author"]) == 2  # committed
    newcomer = await em.find_one_or_fail(Author, {"email": "new@x.io"})
    assert state_of(newcomer).status is Status.MANAGED
    await em.flush()  # nothing pending: the committed changes are not written twice
    assert await stored(rig.direct) == after
    await check_pool(rig, figures)
