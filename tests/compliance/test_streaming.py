"""em.stream: entities batch by batch from a server-side cursor or keyset batches.

Which source a stream reads from depends on the database and the situation (see
docs/querying.md#streaming); every test here holds on all of them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import tracemalloc
from contextlib import aclosing
from decimal import Decimal
from typing import Any

import pytest

from orm.core import ORM, EntityStateError, ValidationError
from orm.core.query.ast import SelectQuery
from orm.core.query.filter import parse_filter
from orm.core.query.keyset import stream_order
from orm.core.state import meta_of
from orm.core.stream import holds_cursor

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import (
    LIBRARY,
    Author,
    Book,
    Color,
    Course,
    Enrollment,
    Priority,
    Sample,
    Student,
    Tag,
)


async def _authors(orm: ORM, count: int, *, books: int = 0) -> None:
    em = orm.em.fork()
    tags = [Tag(name="fiction"), Tag(name="poetry")]
    for i in range(count):
        # Some NULL ages, and ages that repeat, so orderings need the key to break ties.
        author = Author(f"{'AB'[i % 2]}{i:03}", f"a{i}@x.io", age=None if i % 4 == 0 else i % 5)
        for b in range(books):
            book = Book(title=f"{i}-{b}")
            book.tags.add(tags[b % 2])
            author.books.add(book)
        em.persist(author)
    await em.flush()


async def _stream_names(orm: ORM, where: Any = None, **options: Any) -> list[str]:
    em = orm.em.fork()
    return [author.name async for author in em.stream(Author, where, **options)]


def _fetches(sql_log: StatementLog) -> int:
    """Round trips of a stream: keyset SELECTs, or a cursor's SELECT and FETCHes."""
    return sql_log.count("SELECT") + sql_log.count("FETCH")


# -- what a stream yields ------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 4, 7, 500])
async def test_every_match_in_order_with_filters(make_orm: MakeOrm, batch_size: int) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 23)
    em = orm.em.fork()
    cases: list[tuple[Any, Any, Any]] = [
        (None, None, {"id": "asc"}),
        ({"name": {"$like": "A%"}}, {"name": "desc"}, {"name": "desc"}),
        # NULLs last unless asked otherwise, on every database; the key breaks ties
        ({"age": {"$ne": 3}}, {"age": "asc"}, {"age": "asc nulls last", "id": "asc"}),
        (None, {"age": "desc nulls first"}, {"age": "desc nulls first", "id": "asc"}),
        ([3, 5, 8, 13], {"age": "desc"}, {"age": "desc nulls last", "id": "asc"}),
    ]
    for where, order, same_order in cases:
        expected = [a.name for a in await em.find(Author, where, order_by=same_order)]
        names = await _stream_names(orm, where, order_by=order, batch_size=batch_size)
        assert names == expected, (where, order)
        assert len(names) == len(set(names))
    assert await _stream_names(orm, {"name": "nobody"}, batch_size=batch_size) == []


async def test_each_batch_is_one_round_trip(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 25)
    for batch_size, round_trips in ((10, 3), (5, 6), (25, 2), (100, 1)):
        em = orm.em.fork()
        sql_log.clear()
        count = 0
        async for _ in em.stream(Author, batch_size=batch_size):
            count += 1
        assert count == 25
        # A full batch may be the last one: only the next (empty) fetch can tell.
        assert _fetches(sql_log) == round_trips, sql_log.statements


async def test_populate_runs_per_batch_one_query_per_level(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 25, books=2)
    em = orm.em.fork()
    expected = {
        a.name: sorted((b.title, [t.name for t in b.tags]) for b in a.books)
        for a in await em.find(Author, populate=["books.tags"])
    }
    stream_em = orm.em.fork()
    sql_log.clear()
    seen: dict[str, Any] = {}
    async for author in stream_em.stream(Author, batch_size=10, populate=["books.tags"]):
        seen[author.name] = sorted((b.title, [t.name for t in b.tags]) for b in author.books)
    assert seen == expected
    selects = sql_log.targets_of("SELECT")
    assert selects.count("book") == 3  # three batches, one books query each
    assert selects.count("tag") == 3  # and one tags query each
    assert _fetches(sql_log) == 3 + 3 + 3


# -- the identity map ----------------------------------------------------------------------


async def test_entities_already_in_the_fork_are_yielded_as_they_are(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 12)
    em = orm.em.fork()
    loaded = await em.find_one_or_fail(Author, {"name": "A004"})
    loaded.name = "changed, not flushed"
    yielded: list[Author] = []
    async for author in em.stream(Author, batch_size=3):
        yielded.append(author)
    assert yielded[4] is loaded  # the same object as find returned
    assert loaded.name == "changed, not flushed"  # never overwritten by a streamed row
    assert em.is_managed(loaded)  # loaded before the stream: never evicted
    # A lookup after the stream answers from the identity map, without a new object.
    assert await em.find_one(Author, loaded.id) is loaded


async def test_untouched_entities_are_evicted_changed_ones_are_flushed(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 35)
    em = orm.em.fork()
    batch_size = 10
    yielded: list[Author] = []
    changed: set[int] = set()
    largest_map = 0
    async for author in em.stream(Author, batch_size=batch_size):
        yielded.append(author)
        largest_map = max(largest_map, len(em.unit_of_work.identity_map))
        if author.id % 7 == 0:
            author.age = 99
            changed.add(author.id)
    assert len(yielded) == 35 and len(changed) == 5
    # The current batch plus the changed entities of earlier batches, never the whole result.
    assert largest_map <= batch_size + len(changed)
    last_batch = {a.id for a in yielded[-5:]}
    for author in yielded:
        managed = author.id in changed or author.id in last_batch
        assert em.is_managed(author) is managed, author.id
    # An evicted entity is read again as a new, managed object.
    evicted = yielded[0]
    again = await em.find_one_or_fail(Author, evicted.id)
    assert again is not evicted and em.is_managed(again)
    sql_log.clear()
    await em.flush()
    assert len(sql_log.of_kind("UPDATE")) >= 1
    check = orm.em.fork()
    stored = {a.id: a.age for a in await check.find(Author)}
    assert {key for key, age in stored.items() if age == 99} == changed


async def test_an_entity_found_by_break_can_still_be_changed(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 20)
    em = orm.em.fork()
    found: Author | None = None
    async for author in em.stream(Author, batch_size=4):
        if author.name == "B009":
            found = author
            break
    assert found is not None and em.is_managed(found)  # the last batch stays managed
    found.age = 42
    await em.flush()
    assert (await orm.em.fork().find_one_or_fail(Author, {"name": "B009"})).age == 42


async def test_what_a_changed_entity_reaches_stays_managed(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 6, books=2)
    em = orm.em.fork()
    kept: Author | None = None
    async for author in em.stream(Author, batch_size=2, populate=["books"]):
        if kept is None:
            kept = author
            em.remove(author)  # cascades to its (populated) books at the flush
    assert kept is not None
    assert all(em.is_managed(book) for book in kept.books)
    await em.flush()
    check = orm.em.fork()
    assert await check.count(Author) == 5
    assert await check.count(Book) == 10


# -- transactions and connections ----------------------------------------------------------


async def test_inside_a_transaction_the_loop_body_can_query_and_flush(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 30)
    em = orm.em.fork()
    largest_map = 0
    async with em.transaction():
        count = 0
        async for author in em.stream(Author, {"age": {"$ne": 99}}, batch_size=7):
            count += 1
            author.age = 99
            largest_map = max(largest_map, len(em.unit_of_work.identity_map))
            if count % 5 == 0:
                await em.flush()  # on the transaction's connection, between batches
                assert await em.count(Author, {"age": 99}) == count
        assert count == 30
    # Flushed entities are evicted like untouched ones: at most one batch and what the last
    # flush has not written yet.
    assert largest_map <= 7 + 4
    check = orm.em.fork()
    assert await check.count(Author, {"age": 99}) == 30


async def test_a_stream_left_open_is_closed_when_its_transaction_ends(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 10)
    em = orm.em.fork()
    stream = em.stream(Author, batch_size=3)
    async with em.transaction():
        first = await anext(stream)
        assert first.name == "A000"
    with pytest.raises(EntityStateError, match="transaction this stream was reading in"):
        await anext(stream)
    assert await em.count(Author) == 10  # the connection went back to the pool cleanly


async def _pool_is_free(orm: ORM, size: int) -> None:
    """Fails with PoolTimeoutError (acquire_timeout) if a stream still holds a connection."""
    holder = orm.em.fork()
    async with holder.transaction():
        await holder.count(Author)
        if size > 1:
            assert await orm.em.fork().count(Author) > 0


@pytest.mark.parametrize("how", ["break", "break without aclosing", "exception"])
async def test_leaving_early_closes_the_cursor_and_releases_the_connection(
    make_orm: MakeOrm, database: str, how: str
) -> None:
    size = 1 if database == "sqlite" else 2
    orm = await make_orm(LIBRARY, pool_max_size=size, acquire_timeout=2)
    await _authors(orm, 40)
    em = orm.em.fork()
    seen = 0
    if how == "break":
        async with aclosing(em.stream(Author, batch_size=5)) as authors:
            async for _ in authors:
                seen += 1
                if seen == 7:
                    break
    elif how == "break without aclosing":
        # Closed when the abandoned generator is collected (asyncio then schedules aclose()).
        async for _ in em.stream(Author, batch_size=5):
            seen += 1
            if seen == 7:
                break
        await asyncio.sleep(0)
    else:
        with pytest.raises(RuntimeError, match="stop"):
            async with aclosing(em.stream(Author, batch_size=5)) as authors:
                async for _ in authors:
                    seen += 1
                    if seen == 7:
                        raise RuntimeError("stop")
    assert seen == 7
    await _pool_is_free(orm, size)
    assert await em.count(Author) == 40


async def test_with_a_pool_of_one_connection_the_loop_body_can_query(
    make_orm: MakeOrm, database: str, sql_log: StatementLog
) -> None:
    options: dict[str, Any] = {"acquire_timeout": 2}
    if database != "sqlite":
        options["pool_min_size"] = 1
    orm = await make_orm(LIBRARY, pool_max_size=1, **options)
    await _authors(orm, 12, books=1)
    em = orm.em.fork()
    sql_log.clear()
    titles: list[str] = []
    async for author in em.stream(Author, batch_size=5):
        # Needs the pool's only connection: the stream must not be holding it.
        await author.books.load()
        titles.extend(b.title for b in author.books)
    assert len(titles) == 12
    assert sql_log.count("FETCH") == 0  # keyset batches: no cursor held between batches
    assert holds_cursor(em) is False


async def test_outside_a_transaction_streams_hold_their_own_connection(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 12)
    em = orm.em.fork()
    platform = orm.driver.platform
    cursor = platform.server_side_cursors and platform.concurrent_connections
    assert holds_cursor(em) is cursor
    sql_log.clear()
    async for author in em.stream(Author, batch_size=5):
        # Other queries of the loop body run beside the stream.
        assert await orm.em.fork().count(Author, {"id": author.id}) == 1
    assert (sql_log.count("FETCH") == 2) is cursor


async def test_connection_stream_reads_batches(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 11)
    meta = meta_of(Author)
    query = SelectQuery(
        meta, parse_filter(meta, {"age": {"$ne": 1}}), order_by=stream_order(meta, ())
    )
    async with orm.driver.acquire() as connection:
        await connection.begin()  # a cursor needs a transaction on some databases
        batches = [batch async for batch in connection.stream(query, 4)]
        await connection.commit()
    expected = [
        a.name
        for a in await orm.em.fork().find(Author, {"age": {"$ne": 1}}, order_by={"id": "asc"})
    ]
    assert [row["name"] for batch in batches for row in batch] == expected
    assert all(len(b) == 4 for b in batches[:-1]) and len(batches[-1]) < 4


# -- validation ----------------------------------------------------------------------------


async def test_arguments_are_checked_at_the_call(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValidationError, match="batch_size"):
            em.stream(Author, batch_size=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="nope"):
        em.stream(Author, {"nope": 1})
    with pytest.raises(ValidationError, match="populate"):
        em.stream(Author, populate=["name"])
    with pytest.raises(EntityStateError):
        orm.em.stream(Author)


async def test_relation_orderings_need_a_cursor(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm, 4, books=2)
    em = orm.em.fork()
    order = {"author": {"name": "desc"}, "title": "asc"}
    if not holds_cursor(em):
        with pytest.raises(ValidationError, match="keyset batches"):
            await anext(em.stream(Book, order_by=order))
        return
    expected = [b.title for b in await em.find(Book, order_by=order)]
    assert [b.title async for b in em.stream(Book, order_by=order, batch_size=3)] == expected


async def test_keysets_over_every_column_type(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    em = orm.em.fork()
    base = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    for i in range(17):
        em.persist(
            Sample(
                count=i % 3,
                text=f"t{i % 4}",
                ratio=i / 7,
                flag=i % 2 == 0,
                amount=Decimal(i % 5) / 4,
                at=None if i % 3 == 0 else base + dt.timedelta(hours=i % 6),
                day=dt.date(2024, 1, 1 + i % 4),
                color=list(Color)[i % 3],
                priority=list(Priority)[i % 2],
                data={"i": i},
            )
        )
    await em.flush()
    orders: list[tuple[dict[str, str], dict[str, str]]] = [
        ({"amount": "desc", "flag": "asc"}, {"amount": "desc", "flag": "asc"}),
        ({"at": "asc", "color": "desc"}, {"at": "asc nulls last", "color": "desc"}),
        ({"at": "desc nulls first", "day": "asc"}, {"at": "desc nulls first", "day": "asc"}),
        (
            {"priority": "desc", "text": "asc", "ratio": "desc"},
            {"priority": "desc", "text": "asc", "ratio": "desc"},
        ),
    ]
    for order, same in orders:
        reader = orm.em.fork()
        expected = [s.id for s in await reader.find(Sample, order_by={**same, "id": "asc"})]
        streamed = [s.id async for s in reader.stream(Sample, order_by=order, batch_size=2)]
        assert streamed == expected, order


async def test_an_in_place_json_change_keeps_the_entity_managed(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    em = orm.em.fork()
    em.persist([Sample(count=i, data={"n": i}) for i in range(6)])
    await em.flush()
    reader = orm.em.fork()
    changed: list[Sample] = []
    async for sample in reader.stream(Sample, order_by={"count": "asc"}, batch_size=2):
        if sample.count in (0, 3):
            assert sample.data is not None
            sample.data["n"] = -1  # no attribute assignment: found by comparing snapshots
            changed.append(sample)
    assert all(reader.is_managed(s) for s in changed)
    await reader.flush()
    stored = {s.count: s.data for s in await orm.em.fork().find(Sample)}
    assert stored[0] == {"n": -1} and stored[3] == {"n": -1} and stored[1] == {"n": 1}


@pytest.mark.capability("composite_keys")
async def test_composite_relation_keys_need_a_cursor(make_orm: MakeOrm) -> None:
    orm = await make_orm([Student, Course, Enrollment])
    em = orm.em.fork()
    student, course = Student(name="s"), Course(title="c")
    em.persist([Enrollment(student=student, course=course, year=2000 + i) for i in range(5)])
    await em.flush()
    reader = orm.em.fork()
    if not holds_cursor(reader):
        with pytest.raises(ValidationError, match="primary key of scalar properties"):
            await anext(reader.stream(Enrollment))
        return
    years = [
        e.year async for e in reader.stream(Enrollment, order_by={"year": "desc"}, batch_size=2)
    ]
    assert years == [2004, 2003, 2002, 2001, 2000]


# -- memory --------------------------------------------------------------------------------

ROWS = 20_000


async def _peak(work: Any) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        await work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_memory_stays_flat(
    make_orm: MakeOrm, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    for start in range(0, ROWS, 5_000):
        em.persist(
            [Author(f"N{i:06}", f"n{i}@x.io", age=i % 90) for i in range(start, start + 5_000)]
        )
        await em.flush()
        em.clear()
    batch_size = 500
    largest_map = 0

    async def stream() -> None:
        nonlocal largest_map
        fork = orm.em.fork()
        count = 0
        async for _ in fork.stream(Author, batch_size=batch_size):
            count += 1
            if count % 100 == 0:
                largest_map = max(largest_map, len(fork.unit_of_work.identity_map))
        assert count == ROWS

    async def find() -> None:
        assert len(await orm.em.fork().find(Author)) == ROWS

    streamed = await _peak(stream)
    found = await _peak(find)
    with capsys.disabled():
        print(
            f"\n[stream memory] {database}: {ROWS} rows, batch_size={batch_size}: "
            f"em.stream peak {streamed / 2**20:.1f} MiB, em.find peak {found / 2**20:.1f} MiB"
        )
    assert largest_map <= batch_size
    assert streamed * 4 < found
