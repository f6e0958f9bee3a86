"""What the flush's value checks cost, as a share of the flush, on SQLite in memory.

    uv run python benchmarks/validation.py

For 10,000 inserts and 10,000 updates (two changed columns each) it measures, in one process
with interleaved repeats and medians:

A. the whole flush (wall clock) with the checks, and with them switched off (a switch of this
   benchmark only: the planner's ``ValueProblems`` replaced by one that checks nothing);
B. the checks alone, run directly over the same values (``ValueProblems.check_new`` /
   ``check_changes``), as a share of the flush, both in CPU time of the process (which counts
   aiosqlite's thread too).

A is what a user sees but is noisy on a busy machine; B is steadier. For inserts it also prints
C: the required-values loop the flush ran before these checks existed (it only looked for
None), over the same entities: the checks replace it, so B minus C is what they add.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import orm.core.unit_of_work.plan as plan_module
from orm.core import ORM, PrimaryKey, Property, entity
from orm.core.metadata.model import EntityMetadata
from orm.core.state import STATE_KEY, meta_of
from orm.core.unit_of_work.snapshot import changed_properties
from orm.core.unit_of_work.value_problems import ValueProblems

COUNT = 10_000
REPEATS = 7
NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@entity
class Reading:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str
    count: int = 0
    ratio: float = 0.0
    active: bool = True
    price: Decimal = Property(precision=10, scale=2, default=Decimal("0"))
    at: dt.datetime | None = None
    note: str | None = None


class Unchecked(ValueProblems):
    """The benchmark's switch: plans a flush without checking any value."""

    def check_inserts(self, entities: Iterable[Any]) -> None:
        pass

    def check_changes(self, entity: Any, meta: EntityMetadata, changes: Mapping[str, Any]) -> None:
        pass


def _people() -> list[Reading]:
    return [
        Reading(
            name=f"p{i}",
            email=f"p{i}@x.io",
            count=i,
            ratio=i / 3,
            price=Decimal(f"{i % 1000}.{i % 100:02d}"),
            at=NOW,
            note=None if i % 2 else "n",
        )
        for i in range(COUNT)
    ]


Timing = tuple[float, float, float]


def _required_only(entities: list[Reading]) -> None:
    """The flush's former check of new entities (None in a required property), for C."""
    for one in entities:
        meta = meta_of(one)
        d = one.__dict__
        for prop in meta.persistent:
            if prop.nullable or prop.autoincrement or prop.server_default is not None:
                continue
            if d.get(prop.name) is None:
                raise AssertionError(prop.path)


def _former_check_cpu() -> float:
    people = _people()
    runs = []
    for _ in range(REPEATS):
        started = time.process_time()
        _required_only(people)
        runs.append(time.process_time() - started)
    return statistics.median(runs)


async def _insert(orm: ORM, checked: bool) -> Timing:
    """(flush wall seconds, flush CPU seconds, CPU seconds of the checks alone)."""
    em = orm.em.fork()
    people = _people()
    em.persist(people)
    started = time.process_time()
    ValueProblems().check_inserts(people)
    checks = time.process_time() - started
    setattr(plan_module, "ValueProblems", ValueProblems if checked else Unchecked)  # noqa: B010
    started, cpu = time.perf_counter(), time.process_time()
    await em.flush()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    setattr(plan_module, "ValueProblems", ValueProblems)  # noqa: B010
    await em.execute("DELETE FROM reading")
    return elapsed, cpu, checks


async def _update(orm: ORM, checked: bool, round_: int) -> Timing:
    em = orm.em.fork()
    people = await em.find(Reading)
    for person in people:
        person.count = person.count + round_ + 1
        person.name = f"{person.name[:50]}{round_}"
    meta = meta_of(Reading)
    changes = [
        (person, changed_properties(person, meta, person.__dict__[STATE_KEY].snapshot or {}))
        for person in people
    ]
    started = time.process_time()
    problems = ValueProblems()
    for person, changed in changes:
        problems.check_changes(person, meta, changed)
    checks = time.process_time() - started
    setattr(plan_module, "ValueProblems", ValueProblems if checked else Unchecked)  # noqa: B010
    started, cpu = time.perf_counter(), time.process_time()
    await em.flush()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    setattr(plan_module, "ValueProblems", ValueProblems)  # noqa: B010
    return elapsed, cpu, checks


def _report(label: str, on: list[Timing], off: list[Timing]) -> None:
    wall_on = statistics.median(t[0] for t in on)
    wall_off = statistics.median(t[0] for t in off)
    cpu = statistics.median(t[1] for t in on + off)
    alone = statistics.median(t[2] for t in on + off)
    print(
        f"{label}: flush {wall_on * 1e3:.1f} ms with checks, {wall_off * 1e3:.1f} ms without "
        f"-> A. {(wall_on / wall_off - 1) * 100:+.1f}%; checks alone {alone * 1e3:.2f} ms CPU of "
        f"{cpu * 1e3:.1f} ms CPU per flush -> B. {alone / cpu * 100:.2f}%"
    )


async def main() -> None:
    orm = await ORM.init(url="sqlite://:memory:", entities=[Reading])
    await orm.schema.create()
    on: list[Timing] = []
    off: list[Timing] = []
    await _insert(orm, True)  # warm-up
    for index in range(REPEATS * 2):
        checked = index % 2 == 0
        (on if checked else off).append(await _insert(orm, checked))
    _report(f"{COUNT:,} inserts", on, off)
    former = _former_check_cpu()
    cpu = statistics.median(t[1] for t in on + off)
    print(
        f"   C. the former required-values loop: {former * 1e3:.2f} ms CPU "
        f"({former / cpu * 100:.2f}% of the flush)"
    )

    em = orm.em.fork()
    em.persist(_people())
    await em.flush()
    on, off = [], []
    await _update(orm, True, 0)  # warm-up
    for index in range(REPEATS * 2):
        checked = index % 2 == 0
        (on if checked else off).append(await _update(orm, checked, index + 1))
    _report(f"{COUNT:,} updates (2 columns each)", on, off)
    await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
