"""Warm-up, interleaved repeats and medians; statements and round trips through the proxy."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from peer_bench.fixture import Fixture
from peer_bench.spec import Implementation, Workload
from peer_bench.wire import WireProxy


@dataclass
class Cell:
    """One implementation on one workload: its times and what it sent."""

    seconds: list[float] = field(default_factory=list)
    statements: int | None = None
    round_trips: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


Results = dict[tuple[str, str], Cell]  # (workload key, implementation name) -> Cell


async def call(implementation: Implementation, workload: str, fixture: Fixture) -> Any:
    if workload == "insert":
        return await implementation.insert(fixture.rows)
    if workload == "get":
        return await implementation.get(fixture.get_ids)
    if workload in ("nplus1", "populate"):
        return await implementation.books(populate=workload == "populate")
    return await getattr(implementation, workload)()


async def run_once(
    implementation: Implementation,
    workload: str,
    fixture: Fixture,
    proxy: WireProxy | None,
) -> tuple[float, int | None, int | None]:
    await fixture.prepare(workload)
    gc.collect()
    if proxy is not None:
        proxy.reset_counts()
    started = time.perf_counter()
    outcome = await call(implementation, workload, fixture)
    elapsed = time.perf_counter() - started
    counts = (proxy.statements, proxy.round_trips) if proxy is not None else (None, None)
    await fixture.check(workload, implementation.name, outcome)
    return elapsed, *counts


async def measure(
    implementations: Sequence[Implementation],
    workloads: Sequence[Workload],
    fixture: Fixture,
    endpoint: tuple[str, int, str],
    *,
    repeats: int,
    proxy: WireProxy | None = None,
) -> Results:
    """Each pair warmed up once, then ``repeats`` rounds; each round runs every workload on
    every implementation, the implementations in a rotated order so none always goes first."""
    results: Results = {}
    for implementation in implementations:
        await implementation.open(*endpoint)
    try:
        for workload in workloads:
            for implementation in implementations:
                if workload.key in implementation.workloads:
                    await run_once(implementation, workload.key, fixture, proxy)
        for round_number in range(repeats):
            shift = round_number % len(implementations)
            order = [*implementations[shift:], *implementations[:shift]]
            for workload in workloads:
                for implementation in order:
                    if workload.key not in implementation.workloads:
                        continue
                    seconds, statements, trips = await run_once(
                        implementation, workload.key, fixture, proxy
                    )
                    cell = results.setdefault((workload.key, implementation.name), Cell())
                    cell.seconds.append(seconds)
                    cell.statements, cell.round_trips = statements, trips
    finally:
        for implementation in implementations:
            await implementation.close()
    return results
