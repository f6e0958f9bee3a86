"""Flush and hydration costs, as ratios against baselines run in the same process.

    uv run python benchmarks/flush.py

1. Change tracking follows the changes, not the identity map: flushing one change with 20,000
   managed entities vs. with 100 (ideal ratio: about 1).
2. Batching: orm inserting N authors in one flush vs. the same rows through aiosqlite's
   executemany, the cheapest way to send them (ratio: orm's overhead for building entities,
   tracking them and reading back generated keys).
3. Hydration is linear: loading 4x the rows takes about 4x the time.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable

import aiosqlite

from orm.core import ORM, PrimaryKey, Property, entity


@entity
class Person:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str
    age: int | None = None


async def _fresh() -> ORM:
    orm = await ORM.init(url="sqlite://:memory:", entities=[Person])
    await orm.schema.create()
    return orm


async def _seed(orm: ORM, count: int) -> None:
    em = orm.em.fork()
    em.persist([Person(name=f"p{i}", email=f"p{i}@x.io") for i in range(count)])
    await em.flush()


async def _median(run: Callable[[], Awaitable[float]], repeat: int = 5) -> float:
    return statistics.median([await run() for _ in range(repeat)])


async def tracking(managed: int) -> float:
    orm = await _fresh()
    await _seed(orm, managed)
    em = orm.em.fork()
    people = await em.find(Person)

    async def once() -> float:
        people[0].age = (people[0].age or 0) + 1
        started = time.perf_counter()
        await em.flush()
        return time.perf_counter() - started

    result = await _median(once, repeat=9)
    await orm.close()
    return result


async def orm_insert(count: int) -> float:
    orm = await _fresh()

    async def once() -> float:
        em = orm.em.fork()
        people = [Person(name=f"p{i}", email=f"p{i}@x.io") for i in range(count)]
        started = time.perf_counter()
        em.persist(people)
        await em.flush()
        elapsed = time.perf_counter() - started
        await em.execute("DELETE FROM person")
        return elapsed

    result = await _median(once)
    await orm.close()
    return result


async def executemany_insert(count: int) -> float:
    async with aiosqlite.connect(":memory:", isolation_level=None) as db:
        await db.execute(
            "CREATE TABLE person (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, "
            "email VARCHAR(255) NOT NULL, age INTEGER)"
        )

        async def once() -> float:
            rows = [(f"p{i}", f"p{i}@x.io", None) for i in range(count)]
            started = time.perf_counter()
            await db.execute("BEGIN")
            await db.executemany("INSERT INTO person (name, email, age) VALUES (?, ?, ?)", rows)
            await db.execute("COMMIT")
            elapsed = time.perf_counter() - started
            await db.execute("DELETE FROM person")
            return elapsed

        return await _median(once)


async def hydration(count: int) -> float:
    orm = await _fresh()
    await _seed(orm, count)

    async def once() -> float:
        em = orm.em.fork()
        started = time.perf_counter()
        await em.find(Person)
        return time.perf_counter() - started

    result = await _median(once)
    await orm.close()
    return result


async def main() -> None:
    small, large = await tracking(100), await tracking(20_000)
    print(
        f"1. flush of one change: {small * 1e3:.2f} ms with 100 managed, "
        f"{large * 1e3:.2f} ms with 20,000 managed -> ratio {large / small:.2f}"
    )
    count = 5_000
    ours, baseline = await orm_insert(count), await executemany_insert(count)
    print(
        f"2. insert {count} rows: orm flush {ours * 1e3:.1f} ms, aiosqlite executemany "
        f"{baseline * 1e3:.1f} ms -> ratio {ours / baseline:.2f}"
    )
    one, four = await hydration(2_000), await hydration(8_000)
    print(
        f"3. hydrate 2,000 rows {one * 1e3:.1f} ms, 8,000 rows {four * 1e3:.1f} ms -> "
        f"ratio {four / one:.2f} (linear = 4)"
    )
    # CPython's cyclic GC runs more often as long-lived objects accumulate; without it the
    # hydrator's own cost shows.
    gc.disable()
    try:
        one, four = await hydration(2_000), await hydration(8_000)
    finally:
        gc.enable()
    print(f"   the same with the GC paused: ratio {four / one:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
