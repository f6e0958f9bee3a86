"""What every implementation runs: the workloads, their data, and the interface to implement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# The 10-table graph: table k (k >= 1) has GRAPH_COUNTS[k] rows, row i pointing at row
# i % GRAPH_COUNTS[k - 1] of table k - 1; 49 rows in all.
GRAPH_COUNTS = (1, 4, 5, 5, 5, 5, 6, 6, 6, 6)
GRAPH_TABLES = tuple(f"peer_g{k}" for k in range(len(GRAPH_COUNTS)))
AUTHORS_WITH_BOOKS = 100
BOOKS_PER_AUTHOR = 10
AUTHOR_TABLE = "peer_author"
BOOK_TABLE = "peer_book"


def author_name(i: int) -> str:
    return f"author {i}"


def author_age(i: int) -> int:
    return i % 90


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    writes: bool  # measured again through the latency-injecting proxy


WORKLOADS = (
    Workload("insert", "insert N through the unit of work", writes=True),
    Workload("load", "load N as entities", writes=False),
    Workload("get", "get by pk x G, a new fork each", writes=False),
    Workload("update", "load N, change all, flush", writes=True),
    Workload("delete", "delete N loaded", writes=True),
    Workload("graph", "a 10-table graph of 49 rows in one flush", writes=True),
    Workload("nplus1", "100 authors, gather(a.books.load())", writes=False),
    Workload("populate", "100 authors, populate books", writes=False),
)


class Implementation(Protocol):
    """One way to run the workloads; ``open`` connects to a URL of its own flavour."""

    name: str
    workloads: frozenset[str]  # the keys of WORKLOADS it runs

    async def open(self, host: str, port: int, database: str) -> None: ...

    async def close(self) -> None: ...

    async def insert(self, rows: int) -> None:
        """Insert authors 0..rows-1 (``author_name(i)``, ``author_age(i)``), keys read back."""

    async def load(self) -> tuple[int, int]:
        """Load every author as an object: (how many, the sum of their ages)."""

    async def get(self, ids: list[int]) -> int:
        """Each id in a new fork/session/connection checkout: the sum of the ages found."""

    async def update(self) -> None:
        """Load every author, add 1 to each age, write the changes."""

    async def delete(self) -> None:
        """Load every author and delete them all."""

    async def graph(self) -> None:
        """Insert the GRAPH_COUNTS rows over the 10 tables, in one transaction."""

    async def books(self, *, populate: bool) -> list[int]:
        """Load every author with their books: each author's number of books."""
