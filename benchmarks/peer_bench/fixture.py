"""Untimed setup and checks around each run, on a direct connection of the fixture's own.

Every run starts from emptied tables (plus the rows the workload reads) and ends with a check
of what it did, so a fast but wrong implementation fails the benchmark instead of winning it.
"""

from __future__ import annotations

from typing import Any

import aiomysql
import aiosqlite
import asyncpg

from peer_bench.spec import (
    AUTHORS_WITH_BOOKS,
    BOOKS_PER_AUTHOR,
    GRAPH_COUNTS,
    GRAPH_TABLES,
    author_age,
    author_name,
)

CHILDREN_FIRST = ("peer_book", "peer_author", *reversed(GRAPH_TABLES))


class WrongResult(Exception):
    """An implementation's run did not do what the workload asks."""


class Fixture:
    """Subclasses say how to run SQL on their database (``marker``: the parameter mark)."""

    marker = "?"

    def __init__(self, rows: int, gets: int) -> None:
        self.rows = rows
        self.gets = gets
        self.get_ids: list[int] = []
        self.expected_get_sum = 0

    async def open(self, host: str, port: int, database: str) -> None: ...

    async def close(self) -> None: ...

    async def execute(self, sql: str) -> None: ...

    async def insert_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None: ...

    async def query(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def empty_tables(self) -> None:
        for table in CHILDREN_FIRST:
            await self.execute(f"DELETE FROM {table}")

    async def scalar(self, sql: str) -> Any:
        return (await self.query(sql))[0][0]

    async def seed_authors(self, count: int) -> list[int]:
        mark = self.marker
        await self.insert_many(
            f"INSERT INTO peer_author (name, age) VALUES ({mark}, {mark})",
            [(author_name(i), author_age(i)) for i in range(count)],
        )
        return [row[0] for row in await self.query("SELECT id FROM peer_author ORDER BY id")]

    async def prepare(self, workload: str) -> None:
        await self.empty_tables()
        if workload in ("load", "get", "update", "delete"):
            ids = await self.seed_authors(self.rows)
            step = max(1, len(ids) // self.gets)
            self.get_ids = ids[::step][: self.gets]
            id_list = ", ".join(map(str, self.get_ids))
            self.expected_get_sum = int(
                await self.scalar(f"SELECT sum(age) FROM peer_author WHERE id IN ({id_list})")
            )
        elif workload in ("nplus1", "populate"):
            ids = await self.seed_authors(AUTHORS_WITH_BOOKS)
            mark = self.marker
            await self.insert_many(
                f"INSERT INTO peer_book (title, author_id) VALUES ({mark}, {mark})",
                [(f"book {a}.{b}", a) for a in ids for b in range(BOOKS_PER_AUTHOR)],
            )

    async def authors_summary(self) -> tuple[int, int]:
        count, total = (await self.query("SELECT count(*), sum(age) FROM peer_author"))[0]
        return int(count), int(total or 0)

    async def check(self, workload: str, implementation: str, outcome: Any) -> None:
        ages = sum(author_age(i) for i in range(self.rows))
        expected: Any
        found: Any
        if workload == "insert":
            found, expected = await self.authors_summary(), (self.rows, ages)
        elif workload == "load":
            found, expected = outcome, (self.rows, ages)
        elif workload == "get":
            found, expected = outcome, self.expected_get_sum
        elif workload == "update":
            found, expected = await self.authors_summary(), (self.rows, ages + self.rows)
        elif workload == "delete":
            found, expected = await self.authors_summary(), (0, 0)
        elif workload == "graph":
            found, expected = await self.graph_summary(), graph_expected()
        else:
            found, expected = sorted(outcome), [BOOKS_PER_AUTHOR] * AUTHORS_WITH_BOOKS
        if found != expected:
            raise WrongResult(f"{implementation}, {workload}: expected {expected}, found {found}")

    async def graph_summary(self) -> list[tuple[int, int, int]]:
        """Per table: rows, rows whose parent exists, distinct parents."""
        summary = [(int(await self.scalar(f"SELECT count(*) FROM {GRAPH_TABLES[0]}")), 0, 0)]
        for level in range(1, len(GRAPH_TABLES)):
            table, above = GRAPH_TABLES[level], GRAPH_TABLES[level - 1]
            rows, linked, parents = (
                await self.query(
                    f"SELECT count(*), count(p.id), count(DISTINCT c.parent_id) FROM {table} c"
                    f" LEFT JOIN {above} p ON p.id = c.parent_id"
                )
            )[0]
            summary.append((int(rows), int(linked), int(parents)))
        return summary


def graph_expected() -> list[tuple[int, int, int]]:
    expected = [(GRAPH_COUNTS[0], 0, 0)]
    for level in range(1, len(GRAPH_COUNTS)):
        count = GRAPH_COUNTS[level]
        expected.append((count, count, min(count, GRAPH_COUNTS[level - 1])))
    return expected


class PostgresFixture(Fixture):
    marker = "$"

    async def open(self, host: str, port: int, database: str) -> None:
        self.connection: Any = await asyncpg.connect(
            host=host, port=port, user="postgres", database=database
        )

    async def close(self) -> None:
        await self.connection.close()

    async def empty_tables(self) -> None:
        await self.execute(f"TRUNCATE {', '.join(CHILDREN_FIRST)} RESTART IDENTITY")

    async def execute(self, sql: str) -> None:
        await self.connection.execute(sql)

    async def insert_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        numbered = sql.replace("($, $)", "($1, $2)")
        await self.connection.executemany(numbered, rows)

    async def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.connection.fetch(sql)]


class MysqlFixture(Fixture):
    marker = "%s"

    async def open(self, host: str, port: int, database: str) -> None:
        self.connection: Any = await aiomysql.connect(
            host=host, port=port, user="root", db=database, autocommit=True
        )

    async def close(self) -> None:
        self.connection.close()

    async def execute(self, sql: str) -> None:
        async with self.connection.cursor() as cursor:
            await cursor.execute(sql)

    async def insert_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        async with self.connection.cursor() as cursor:
            await cursor.executemany(sql, rows)

    async def query(self, sql: str) -> list[tuple[Any, ...]]:
        async with self.connection.cursor() as cursor:
            await cursor.execute(sql)
            return list(await cursor.fetchall())


class SqliteFixture(Fixture):
    async def open(self, host: str, port: int, database: str) -> None:
        self.connection = await aiosqlite.connect(database)

    async def close(self) -> None:
        await self.connection.close()

    async def execute(self, sql: str) -> None:
        await self.connection.execute(sql)
        await self.connection.commit()

    async def insert_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        await self.connection.executemany(sql, rows)
        await self.connection.commit()

    async def query(self, sql: str) -> list[tuple[Any, ...]]:
        async with self.connection.execute(sql) as cursor:
            return [tuple(r) for r in await cursor.fetchall()]
