"""The raw drivers, the floor: asyncpg, aiosqlite and aiomysql with hand-written SQL.

Each does what an application would write by hand for the same result: one statement per
table where the driver allows it, keys read back where the next statement needs them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import aiomysql
import aiosqlite
import asyncpg

from peer_bench.spec import GRAPH_COUNTS, GRAPH_TABLES, WORKLOADS, author_age, author_name

ALL = frozenset(w.key for w in WORKLOADS)
SELECT_AUTHORS = "SELECT id, name, age FROM peer_author"


def graph_labels(level: int) -> list[str]:
    return [f"g{level}.{i}" for i in range(GRAPH_COUNTS[level])]


def parents_of(level: int, above: list[int]) -> list[int]:
    return [above[i % len(above)] for i in range(GRAPH_COUNTS[level])]


def book_counts(author_ids: list[int], book_author_ids: list[int]) -> list[int]:
    counts = Counter(book_author_ids)
    return [counts[a] for a in author_ids]


class RawPostgres:
    """asyncpg with a pool; ``two_statement_graph``: the graph as nextval + one CTE statement."""

    def __init__(self, *, two_statement_graph: bool = False) -> None:
        self.two_statement_graph = two_statement_graph
        self.name = "raw asyncpg, 2 statements" if two_statement_graph else "raw asyncpg"
        self.workloads = frozenset({"graph"}) if two_statement_graph else ALL
        self.pool: Any = None

    async def open(self, host: str, port: int, database: str) -> None:
        self.pool = await asyncpg.create_pool(
            host=host, port=port, user="postgres", database=database, min_size=1, max_size=10
        )

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def insert(self, rows: int) -> None:
        async with self.pool.acquire() as connection:
            await connection.fetch(
                "INSERT INTO peer_author (name, age) SELECT * FROM unnest($1::varchar[], $2::int[])"
                " RETURNING id",
                [author_name(i) for i in range(rows)],
                [author_age(i) for i in range(rows)],
            )

    async def load(self) -> tuple[int, int]:
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(SELECT_AUTHORS)
        return len(rows), sum(r["age"] for r in rows)

    async def get(self, ids: list[int]) -> int:
        total = 0
        for pk in ids:
            async with self.pool.acquire() as connection:
                row = await connection.fetchrow(f"{SELECT_AUTHORS} WHERE id = $1", pk)
            total += row["age"]
        return total

    async def update(self) -> None:
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(SELECT_AUTHORS)
            await connection.execute(
                "UPDATE peer_author AS t SET age = u.age FROM unnest($1::int[], $2::int[])"
                " AS u(id, age) WHERE t.id = u.id",
                [r["id"] for r in rows],
                [r["age"] + 1 for r in rows],
            )

    async def delete(self) -> None:
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(SELECT_AUTHORS)
            await connection.execute(
                "DELETE FROM peer_author WHERE id = ANY($1::int[])", [r["id"] for r in rows]
            )

    async def graph(self) -> None:
        if self.two_statement_graph:
            await self.graph_in_two_statements()
            return
        async with self.pool.acquire() as connection, connection.transaction():
            above: list[int] = []
            for level, table in enumerate(GRAPH_TABLES):
                if level == 0:
                    rows = await connection.fetch(
                        f"INSERT INTO {table} (label) SELECT * FROM unnest($1::varchar[])"
                        " RETURNING id",
                        graph_labels(level),
                    )
                else:
                    rows = await connection.fetch(
                        f"INSERT INTO {table} (label, parent_id)"
                        " SELECT * FROM unnest($1::varchar[], $2::int[]) RETURNING id",
                        graph_labels(level),
                        parents_of(level, above),
                    )
                above = [r["id"] for r in rows]

    async def graph_in_two_statements(self) -> None:
        """Keys from the sequences first, then every INSERT in one atomic statement."""
        key_columns = ", ".join(
            f"(SELECT array_agg(nextval(pg_get_serial_sequence('{table}', 'id')))"
            f" FROM generate_series(1, {count}))"
            for table, count in zip(GRAPH_TABLES, GRAPH_COUNTS, strict=True)
        )
        inserts: list[str] = []
        arguments: list[list[Any]] = []
        async with self.pool.acquire() as connection:
            keys: list[list[int]] = list(await connection.fetchrow(f"SELECT {key_columns}"))
            for level, table in enumerate(GRAPH_TABLES):
                first = len(arguments) + 1
                if level == 0:
                    sql = f"INSERT INTO {table} (id, label) SELECT * FROM unnest(${first}::int[], ${first + 1}::varchar[])"  # noqa: E501
                    arguments += [keys[level], graph_labels(level)]
                else:
                    sql = f"INSERT INTO {table} (id, label, parent_id) SELECT * FROM unnest(${first}::int[], ${first + 1}::varchar[], ${first + 2}::int[])"  # noqa: E501
                    parents = parents_of(level, keys[level - 1])
                    arguments += [keys[level], graph_labels(level), parents]
                inserts.append(f"i{level} AS ({sql})")
            await connection.execute(f"WITH {', '.join(inserts)} SELECT 1", *arguments)

    async def books(self, *, populate: bool) -> list[int]:
        async with self.pool.acquire() as connection:
            authors = await connection.fetch(SELECT_AUTHORS)
            ids = [r["id"] for r in authors]
            books = await connection.fetch(
                "SELECT id, title, author_id FROM peer_book WHERE author_id = ANY($1::int[])", ids
            )
        return book_counts(ids, [b["author_id"] for b in books])


class RawSqlite:
    """aiosqlite on one connection (SQLite has no server: no pool, no wire)."""

    name = "raw aiosqlite"
    workloads = ALL

    def __init__(self) -> None:
        self.connection: aiosqlite.Connection | None = None

    async def open(self, host: str, port: int, database: str) -> None:
        self.connection = await aiosqlite.connect(database)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None

    @property
    def db(self) -> aiosqlite.Connection:
        assert self.connection is not None, "open() first"
        return self.connection

    async def insert(self, rows: int) -> None:
        await self.db.executemany(
            "INSERT INTO peer_author (name, age) VALUES (?, ?)",
            [(author_name(i), author_age(i)) for i in range(rows)],
        )
        await self.db.commit()

    async def fetch_authors(self) -> list[Any]:
        async with self.db.execute(SELECT_AUTHORS) as cursor:
            return list(await cursor.fetchall())

    async def load(self) -> tuple[int, int]:
        rows = await self.fetch_authors()
        return len(rows), sum(r[2] for r in rows)

    async def get(self, ids: list[int]) -> int:
        total = 0
        for pk in ids:
            async with self.db.execute(f"{SELECT_AUTHORS} WHERE id = ?", (pk,)) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            total += row[2]
        return total

    async def update(self) -> None:
        rows = await self.fetch_authors()
        await self.db.executemany(
            "UPDATE peer_author SET age = ? WHERE id = ?", [(r[2] + 1, r[0]) for r in rows]
        )
        await self.db.commit()

    async def delete(self) -> None:
        rows = await self.fetch_authors()
        await self.db.executemany("DELETE FROM peer_author WHERE id = ?", [(r[0],) for r in rows])
        await self.db.commit()

    async def graph(self) -> None:
        above: list[int] = []
        for level, table in enumerate(GRAPH_TABLES):
            keys: list[int] = []
            parents = parents_of(level, above) if level else []
            for i, label in enumerate(graph_labels(level)):
                if level == 0:
                    sql = f"INSERT INTO {table} (label) VALUES (?)"
                    cursor = await self.db.execute(sql, (label,))
                else:
                    cursor = await self.db.execute(
                        f"INSERT INTO {table} (label, parent_id) VALUES (?, ?)", (label, parents[i])
                    )
                assert cursor.lastrowid is not None
                keys.append(cursor.lastrowid)
            above = keys
        await self.db.commit()

    async def books(self, *, populate: bool) -> list[int]:
        ids = [r[0] for r in await self.fetch_authors()]
        marks = ", ".join("?" * len(ids))
        sql = f"SELECT id, title, author_id FROM peer_book WHERE author_id IN ({marks})"
        async with self.db.execute(sql, ids) as cursor:
            books = await cursor.fetchall()
        return book_counts(ids, [b[2] for b in books])


class RawMysql:
    """aiomysql with a pool; multi-row INSERTs (its executemany), one DELETE ... IN."""

    name = "raw aiomysql"
    workloads = ALL

    def __init__(self) -> None:
        self.pool: Any = None

    async def open(self, host: str, port: int, database: str) -> None:
        self.pool = await aiomysql.create_pool(
            host=host, port=port, user="root", db=database, minsize=1, maxsize=10, autocommit=True
        )

    async def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            await self.pool.wait_closed()
            self.pool = None

    async def insert(self, rows: int) -> None:
        async with self.pool.acquire() as connection, connection.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO peer_author (name, age) VALUES (%s, %s)",
                [(author_name(i), author_age(i)) for i in range(rows)],
            )

    async def fetch_authors(self, cursor: Any) -> list[Any]:
        await cursor.execute(SELECT_AUTHORS)
        return list(await cursor.fetchall())

    async def load(self) -> tuple[int, int]:
        async with self.pool.acquire() as connection, connection.cursor() as cursor:
            rows = await self.fetch_authors(cursor)
        return len(rows), sum(r[2] for r in rows)

    async def get(self, ids: list[int]) -> int:
        total = 0
        for pk in ids:
            async with self.pool.acquire() as connection, connection.cursor() as cursor:
                await cursor.execute(f"{SELECT_AUTHORS} WHERE id = %s", (pk,))
                total += (await cursor.fetchone())[2]
        return total

    async def update(self) -> None:
        async with self.pool.acquire() as connection, connection.cursor() as cursor:
            rows = await self.fetch_authors(cursor)
            # One statement for every changed row: an upsert that only ever updates.
            await cursor.executemany(
                "INSERT INTO peer_author (id, name, age) VALUES (%s, %s, %s)"
                " ON DUPLICATE KEY UPDATE age = VALUES(age)",
                [(r[0], r[1], r[2] + 1) for r in rows],
            )

    async def delete(self) -> None:
        async with self.pool.acquire() as connection, connection.cursor() as cursor:
            ids = [r[0] for r in await self.fetch_authors(cursor)]
            marks = ", ".join(["%s"] * len(ids))
            await cursor.execute(f"DELETE FROM peer_author WHERE id IN ({marks})", ids)

    async def graph(self) -> None:
        async with self.pool.acquire() as connection, connection.cursor() as cursor:
            await connection.begin()
            above: list[int] = []
            for level, table in enumerate(GRAPH_TABLES):
                labels = graph_labels(level)
                if level == 0:
                    await cursor.executemany(
                        f"INSERT INTO {table} (label) VALUES (%s)", [(x,) for x in labels]
                    )
                else:
                    await cursor.executemany(
                        f"INSERT INTO {table} (label, parent_id) VALUES (%s, %s)",
                        list(zip(labels, parents_of(level, above), strict=True)),
                    )
                # A multi-row INSERT takes consecutive keys; LAST_INSERT_ID() is the first.
                above = [cursor.lastrowid + i for i in range(len(labels))]
            await connection.commit()

    async def books(self, *, populate: bool) -> list[int]:
        async with self.pool.acquire() as connection, connection.cursor() as cursor:
            ids = [r[0] for r in await self.fetch_authors(cursor)]
            marks = ", ".join(["%s"] * len(ids))
            await cursor.execute(
                f"SELECT id, title, author_id FROM peer_book WHERE author_id IN ({marks})", ids
            )
            books = await cursor.fetchall()
        return book_counts(ids, [b[2] for b in books])
