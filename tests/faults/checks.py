"""Checks shared by the fault tests: the reference flush and the pool after a fault."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from .conftest import POOL_MAX_SIZE, FaultRig, Figures
from .scenario import Stored, seed, stage, stored

# How many times the sweeps over every statement run (ORM_FAULT_ROUNDS, default 3).
ROUNDS = int(os.environ.get("ORM_FAULT_ROUNDS", "3"))


async def settled(condition: Callable[[], bool]) -> bool:
    """Wait (briefly, bounded) for the proxy to see closed sockets; the result of the check."""
    for _ in range(100):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def reference_run(rig: FaultRig) -> tuple[Stored, Stored, int, int]:
    """The flush without faults: (stored before, stored after, statements, client bytes)."""
    await seed(rig.proxied)
    before = await stored(rig.direct)
    em = rig.proxied.em.fork()
    await stage(em)
    rig.proxy.reset()
    await em.flush()
    expected = await stored(rig.direct)
    assert expected != before
    return before, expected, len(rig.proxy.statements), rig.proxy.client_bytes


async def check_pool(rig: FaultRig, figures: Figures, *, used: bool = True) -> None:
    """No connection is checked out, the pool did not grow, and each pooled connection is one
    open socket at the proxy (none left behind). After a failure the broken connection is
    gone (the pool may be empty); once ``used`` again the pool holds a working one."""
    status = rig.pool()
    leaked = status.in_use
    ok = await settled(lambda: rig.proxy.open_connections == rig.pool().size)
    if not ok:
        leaked += abs(rig.proxy.open_connections - rig.pool().size)
    figures.add("leaked_connections", leaked)
    assert status.in_use == 0, status
    assert ok, (rig.proxy.open_connections, rig.pool())
    assert (1 if used else 0) <= rig.pool().size <= POOL_MAX_SIZE
