"""Peak memory of ``em.stream`` vs ``em.find`` over 100,000 rows.

    uv run python benchmarks/stream.py                 # SQLite (a temporary file)
    ORM_PG_URL=postgresql://postgres@127.0.0.1:5432/orm_bench \\
    ORM_MYSQL_URL=mysql://root@127.0.0.1:3306/orm_bench uv run python benchmarks/stream.py

PostgreSQL and MySQL/MariaDB are measured too when their URL is set and the server answers;
their ``person``/``pet`` tables are dropped and created again. Memory is what ``tracemalloc``
sees of Python allocations (rows, entities, driver buffers), measured from just before the
call; ``current`` samples during the stream show it does not grow with the rows read. The
timings (of an untraced run) are for orientation only.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable

from orm.core import ORM, Collection, ManyToOne, OneToMany, PrimaryKey, Property, entity
from orm.core.errors import ORMError
from orm.core.stream import holds_cursor

ROWS = 100_000
BATCH_SIZE = 500
INSERT_CHUNK = 10_000


@entity
class Person:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str
    age: int | None = None
    pets: Collection[Pet] = OneToMany("Pet", mapped_by="owner")


@entity
class Pet:
    id: int = PrimaryKey()
    name: str
    owner: Person = ManyToOne(Person)


def _mib(size: float) -> str:
    return f"{size / 2**20:7.1f} MiB"


async def _seed(orm: ORM) -> float:
    started = time.perf_counter()
    em = orm.em.fork()
    for start in range(0, ROWS, INSERT_CHUNK):
        em.persist(
            [
                Person(name=f"person {i}", email=f"p{i}@x.io", age=i % 90)
                for i in range(start, start + INSERT_CHUNK)
            ]
        )
        await em.flush()
        em.clear()
    return time.perf_counter() - started


async def _traced(work: Callable[[], Awaitable[None]]) -> tuple[int, float]:
    """(peak bytes above the start, seconds) of ``work``."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    try:
        await work()
        return tracemalloc.get_traced_memory()[1] - base, time.perf_counter() - started
    finally:
        tracemalloc.stop()


async def _timed(work: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def measure(name: str, url: str) -> None:
    try:
        orm = await ORM.init(url=url, entities=[Person, Pet])
    except ORMError as exc:
        print(f"{name}: skipped ({exc})")
        return
    try:
        await orm.schema.drop()
        await orm.schema.create()
        seeded = await _seed(orm)
        samples: list[tuple[int, int]] = []
        largest_map = 0

        async def stream() -> None:
            nonlocal largest_map
            em = orm.em.fork()
            count = 0
            async for _ in em.stream(Person, batch_size=BATCH_SIZE):
                count += 1
                if count % 100 == 0:
                    largest_map = max(largest_map, len(em.unit_of_work.identity_map))
                if count % 20_000 == 0:
                    samples.append((count, tracemalloc.get_traced_memory()[0]))
            assert count == ROWS, count

        async def find() -> None:
            people = await orm.em.fork().find(Person)
            assert len(people) == ROWS

        source = "server-side cursor" if holds_cursor(orm.em.fork()) else "keyset batches"
        stream_seconds, find_seconds = await _timed(stream), await _timed(find)
        samples.clear()
        streamed, _ = await _traced(stream)
        found, _ = await _traced(find)
        print(f"{name}: {ROWS:,} rows (inserted in {seeded:.1f} s), stream via {source}")
        print(
            f"  em.stream(batch_size={BATCH_SIZE}) peak {_mib(streamed)}   "
            f"({stream_seconds:.2f} s untraced; identity map never above {largest_map} entities)"
        )
        print(f"  em.find                     peak {_mib(found)}   ({find_seconds:.2f} s untraced)")
        print(f"  ratio find / stream: {found / streamed:.0f}x")
        trail = ", ".join(f"{count // 1000}k rows {_mib(size).strip()}" for count, size in samples)
        print(f"  traced memory while streaming: {trail}")
    finally:
        await orm.schema.drop()
        await orm.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "stream.db")
        await measure("sqlite", f"sqlite:///{path}")
    for name, variable in (("postgresql", "ORM_PG_URL"), ("mysql/mariadb", "ORM_MYSQL_URL")):
        url = os.environ.get(variable)
        if url:
            await measure(name, url)
        else:
            print(f"{name}: skipped (set {variable} to measure it)")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
