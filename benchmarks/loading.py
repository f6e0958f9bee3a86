"""The loading strategies on one three-level tree: statements, rows read and time.

    uv run python benchmarks/loading.py              # SQLite (a temporary file)
    ORM_PG_URL=postgresql://postgres@127.0.0.1:5432/orm_bench \\
    ORM_MYSQL_URL=mysql://root@127.0.0.1:3306/orm_bench uv run python benchmarks/loading.py

500 authors, 10 books each, 5 reviews per book (30,500 entities), loaded with
``populate=["books.reviews"]``. Each database is measured when its URL is set and the server
answers (its tables are dropped and created again). Times are the best of 5 runs, each on a
fresh fork, and are printed as ratios to select-in in the same process: the machine is
shared, so only the ratios mean something.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time

from orm.core import ORM, Cascade, Collection, ManyToOne, OneToMany, PrimaryKey, entity
from orm.core.errors import ORMError

AUTHORS, BOOKS, REVIEWS, RUNS = 500, 10, 5, 5


@entity
class BenchAuthor:
    id: int = PrimaryKey()
    name: str
    books: Collection[BenchBook] = OneToMany("BenchBook", mapped_by="author", cascade=Cascade.ALL)


@entity
class BenchBook:
    id: int = PrimaryKey()
    title: str
    author: BenchAuthor = ManyToOne(BenchAuthor)
    reviews: Collection[BenchReview] = OneToMany(
        "BenchReview", mapped_by="book", cascade=Cascade.ALL
    )


@entity
class BenchReview:
    id: int = PrimaryKey()
    stars: int
    text: str
    book: BenchBook = ManyToOne(BenchBook)


class Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def _seed(orm: ORM) -> None:
    em = orm.em.fork()
    for a in range(AUTHORS):
        author = BenchAuthor(name=f"author {a}")
        for b in range(BOOKS):
            book = BenchBook(title=f"book {a}.{b}", author=author)
            for r in range(REVIEWS):
                BenchReview(stars=r % 5 + 1, text=f"review {r} of {a}.{b}", book=book)
        em.persist(author)
    await em.flush()


async def _measure(orm: ORM, strategy: str, counter: Counter) -> tuple[float, int, int]:
    best = float("inf")
    loaded = 0
    for _ in range(RUNS):
        em = orm.em.fork()
        counter.count = 0
        started = time.perf_counter()
        authors = await em.find(BenchAuthor, populate=["books.reviews"], strategy=strategy)
        best = min(best, time.perf_counter() - started)
        loaded = sum(len(b.reviews) for a in authors for b in a.books)
    return best, counter.count, loaded


async def run(label: str, url: str) -> None:
    try:
        orm = await ORM.init(url=url, entities=[BenchAuthor, BenchBook, BenchReview])
    except ORMError as exc:
        print(f"{label}: skipped ({exc})")
        return
    try:
        await orm.schema.refresh()
        await _seed(orm)
        counter = Counter()
        logger = logging.getLogger("orm.sql")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(counter)
        strategies = ["select-in", "joined"]
        if orm.driver.platform.json_aggregate_loading:
            strategies.append("json-aggregate")
        results = {s: await _measure(orm, s, counter) for s in strategies}
        logger.removeHandler(counter)
        baseline = results["select-in"][0]
        print(f"{label}: {AUTHORS} authors x {BOOKS} books x {REVIEWS} reviews")
        for strategy, (seconds, statements, reviews) in results.items():
            print(
                f"  {strategy:>14}: {statements} statement(s), {reviews} reviews, "
                f"{seconds * 1000:8.1f} ms, ratio to select-in {seconds / baseline:.2f}"
            )
        await orm.schema.drop()
    finally:
        await orm.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        await run("sqlite", f"sqlite:///{folder}/bench.db")
    for label, variable in (("postgres", "ORM_PG_URL"), ("mysql", "ORM_MYSQL_URL")):
        url = os.environ.get(variable)
        if url:
            await run(label, url)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
