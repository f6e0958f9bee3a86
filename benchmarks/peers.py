"""orm against its peers, in one process, on the same databases: time, statements, round trips.

    uv run --group bench python benchmarks/peers.py            # full: 10k rows, writes docs
    uv run --group bench python benchmarks/peers.py --quick    # smoke test: 500 rows, no docs

PostgreSQL (``PEERS_PG_URL``, default postgresql://postgres@127.0.0.1:5432/orm_bench_peers):
orm, SQLAlchemy 2.x async ORM, Tortoise ORM and raw asyncpg (the floor). MariaDB/MySQL
(``PEERS_MYSQL_URL``, default mysql://root@127.0.0.1:3306/orm_bench_peers) and SQLite (a
temporary file): orm against the raw driver. The databases are created when missing and their
``peer_*`` tables dropped and created again. Times are printed relative to the raw driver:
the machine may be shared, only the ratios mean something. Nothing here asserts on time; a
run whose result is wrong (row counts, values) stops the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiomysql
import asyncpg
from peer_bench.fixture import Fixture, MysqlFixture, PostgresFixture, SqliteFixture
from peer_bench.orm_side import OrmImplementation
from peer_bench.raw_side import RawMysql, RawPostgres, RawSqlite
from peer_bench.report import chart, geometric_mean_against_peers, ratio_table
from peer_bench.runner import Results, measure
from peer_bench.spec import WORKLOADS, Implementation
from peer_bench.sqlalchemy_side import SqlAlchemyImplementation
from peer_bench.tortoise_side import TortoiseImplementation
from peer_bench.wire import Protocol, WireProxy

ROOT = Path(__file__).resolve().parent.parent
DOCS_PAGE = ROOT / "docs" / "benchmarks.md"
CHART = ROOT / "docs" / "benchmarks.png"
LATENCY_MS = (0.0, 2.0)
WRITES = [w for w in WORKLOADS if w.writes]
PEERS = ("SQLAlchemy", "Tortoise")


@dataclass(frozen=True)
class Mode:
    rows: int
    gets: int
    repeats: int
    latency_repeats: int  # 0: no latency runs


FULL = Mode(rows=10_000, gets=1_000, repeats=5, latency_repeats=3)
QUICK = Mode(rows=500, gets=50, repeats=1, latency_repeats=0)


@dataclass
class Section:
    """One database's results: direct timings, proxied (counted) ones, one per latency."""

    label: str
    names: list[str]
    baseline: str
    direct: Results
    by_latency: dict[float, Results]


async def ensure_database(protocol: Protocol, host: str, port: int, database: str) -> None:
    if protocol == "postgres":
        connection = await asyncpg.connect(host=host, port=port, user="postgres")
        try:
            if not await connection.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", database
            ):
                await connection.execute(f'CREATE DATABASE "{database}"')
        finally:
            await connection.close()
        return
    connection = await aiomysql.connect(host=host, port=port, user="root", autocommit=True)
    async with connection.cursor() as cursor:
        if not await cursor.execute("SHOW DATABASES LIKE %s", (database,)):
            await cursor.execute(f"CREATE DATABASE `{database}`")
    connection.close()


async def run_server(
    label: str,
    protocol: Protocol,
    url: str,
    implementations: list[Implementation],
    fixture: Fixture,
    mode: Mode,
) -> Section:
    parts = urlsplit(url)
    host, port, database = parts.hostname or "127.0.0.1", parts.port or 0, parts.path.lstrip("/")
    await ensure_database(protocol, host, port, database)
    schema_owner = OrmImplementation(protocol)
    await schema_owner.open(host, port, database)
    await schema_owner.create_schema()
    await schema_owner.close()
    await fixture.open(host, port, database)
    names = [i.name for i in implementations]
    try:
        print(f"{label}: direct, {mode.repeats} repeat(s)", flush=True)
        direct = await measure(
            implementations, WORKLOADS, fixture, (host, port, database), repeats=mode.repeats
        )
        by_latency: dict[float, Results] = {}
        proxy = WireProxy(protocol, port).start()
        try:
            for delay_ms in LATENCY_MS if mode.latency_repeats else (0.0,):
                proxy.delay = delay_ms / 1000
                # At 0 ms every workload goes through the proxy once more, to count its traffic.
                workloads = WORKLOADS if delay_ms == 0 else WRITES
                repeats = max(1, mode.latency_repeats)
                print(f"{label}: through the proxy at {delay_ms:g} ms", flush=True)
                by_latency[delay_ms] = await measure(
                    implementations,
                    workloads,
                    fixture,
                    ("127.0.0.1", proxy.port, database),
                    repeats=repeats,
                    proxy=proxy,
                )
        finally:
            proxy.stop()
    finally:
        await fixture.close()
    return Section(label, names, implementations[-1].name, direct, by_latency)


async def run_sqlite(mode: Mode) -> Section:
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/peers.db"
        orm = OrmImplementation("sqlite")
        await orm.open("", 0, path)
        await orm.create_schema()
        await orm.close()
        fixture = SqliteFixture(mode.rows, mode.gets)
        await fixture.open("", 0, path)
        implementations: list[Implementation] = [OrmImplementation("sqlite"), RawSqlite()]
        try:
            print(f"sqlite: direct, {mode.repeats} repeat(s)", flush=True)
            direct = await measure(
                implementations, WORKLOADS, fixture, ("", 0, path), repeats=mode.repeats
            )
        finally:
            await fixture.close()
    return Section("SQLite (aiosqlite)", ["orm", "raw aiosqlite"], "raw aiosqlite", direct, {})


def render(sections: list[Section], mode: Mode) -> tuple[str, float]:
    """The Markdown of the results, and orm's geometric mean against the best peer."""
    out: list[str] = []
    postgres = sections[0]
    mean = geometric_mean_against_peers(postgres.direct, "orm", PEERS)
    for section in sections:
        counted = section.by_latency.get(0.0)
        out.append(f"### {section.label}\n")
        out.append(
            ratio_table(
                section.direct,
                counted,
                section.names,
                section.baseline,
                rows=mode.rows,
                gets=mode.gets,
            )
        )
        out.append("")
        for delay, results in section.by_latency.items():
            if mode.latency_repeats == 0:
                continue
            out.append(f"#### {section.label}, write workloads through the proxy at {delay:g} ms\n")
            out.append(
                ratio_table(
                    results,
                    None,
                    section.names,
                    section.baseline,
                    rows=mode.rows,
                    gets=mode.gets,
                    workloads=WRITES,
                )
            )
            out.append("")
    out.append(
        f"Geometric mean of orm's time over the best peer's (SQLAlchemy or Tortoise, per "
        f"workload, PostgreSQL direct): **{mean:.2f}** (below 1: orm is faster).\n"
    )
    return "\n".join(out), mean


METHOD = """\
## Method

- One process, one run of `uv run --group bench python benchmarks/peers.py`; every
  implementation talks to the same database server. The raw driver is the floor: hand-written
  SQL, one statement per table where the driver allows it (asyncpg: `unnest` arrays for
  INSERT/UPDATE, `= ANY($1)` for DELETE; aiomysql: multi-row INSERT, an upsert for the update,
  `IN (...)` for the delete; aiosqlite: `executemany`).
- Peers use their fastest documented API for the job: SQLAlchemy's `AsyncSession` (`add_all` +
  `commit`, `session.get`, `selectinload`), Tortoise's `bulk_create`, `bulk_update`,
  `filter(id__in=...).delete()`, `prefetch_related` and `create` per row in a transaction for
  the graph. orm runs `gather(a.books.load())` and, separately, `populate=["books"]`.
- Each pair (workload, implementation) runs once as a warm-up; then each repeat runs every
  workload on every implementation, their order rotated from one repeat to the next; the
  table shows the median. Setup (emptied tables, seeded rows) and a correctness check (row
  counts, sums of the values, the graph's links) surround every run, untimed: a wrong result
  stops the benchmark.
- A loopback TCP proxy, on an event loop of its own in a thread, counts statements (PostgreSQL
  `Query`/`Execute` messages; MySQL `COM_QUERY`/`COM_STMT_EXECUTE`) and round trips (each
  server answer after the client spoke), and holds each answer back by the injected latency.
  The direct timings go around it; the write workloads are timed again through it at 0 and
  2 ms. `st / rt`: statements / round trips of one run, pool checkout resets included.
- Time is relative to the raw driver in the same table (lower is better); the last column is
  the raw driver's median in milliseconds. No test asserts on time.
"""


def write_docs(markdown: str, mode: Mode, sections: list[Section]) -> None:
    postgres = sections[0]
    chart(postgres.direct, postgres.names[:-1], postgres.baseline, CHART)
    page = [
        "# Benchmarks: orm and its peers\n",
        f"`benchmarks/peers.py` at {mode.rows:,} rows, {mode.repeats} repeats, medians. The "
        "figures below come from one run on a shared 2-core machine: only the ratios within "
        "one table mean something, and they move by some percent from run to run.\n",
        "![Time relative to raw asyncpg on PostgreSQL, per workload](benchmarks.png)\n",
        "## Results\n",
        markdown,
        METHOD,
    ]
    DOCS_PAGE.write_text("\n".join(page))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 rows, 1 repeat, no docs")
    mode = QUICK if parser.parse_args().quick else FULL
    pg_url = os.environ.get("PEERS_PG_URL", "postgresql://postgres@127.0.0.1:5432/orm_bench_peers")
    my_url = os.environ.get("PEERS_MYSQL_URL", "mysql://root@127.0.0.1:3306/orm_bench_peers")
    pg_implementations: list[Implementation] = [
        OrmImplementation("postgres"),
        SqlAlchemyImplementation(),
        TortoiseImplementation(),
        RawPostgres(two_statement_graph=True),
        RawPostgres(),
    ]
    sections = [
        await run_server(
            "PostgreSQL (asyncpg)",
            "postgres",
            pg_url,
            pg_implementations,
            PostgresFixture(mode.rows, mode.gets),
            mode,
        ),
        await run_server(
            "MariaDB (aiomysql)",
            "mysql",
            my_url,
            [OrmImplementation("mysql"), RawMysql()],
            MysqlFixture(mode.rows, mode.gets),
            mode,
        ),
        await run_sqlite(mode),
    ]
    markdown, _ = render(sections, mode)
    print(markdown)
    if mode is FULL:
        write_docs(markdown, mode, sections)
        print(f"wrote {DOCS_PAGE.relative_to(ROOT)} and {CHART.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
