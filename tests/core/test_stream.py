"""em.stream without a database: keyset batches through the seam, and eviction."""

from __future__ import annotations

from typing import Any

import pytest

from orm.core import ValidationError
from orm.core.query.ast import And, Comparison, Op, Or, SelectQuery
from orm.core.query.filter import parse_order_by
from orm.core.query.keyset import after, keyset_ordering, stream_order
from orm.core.state import meta_of
from orm.core.stream import holds_cursor

from .fakes import FakeDriver, driver_of, fake_orm
from .test_entity_manager import ENTITIES, Author, Book


async def _authors(count: int) -> tuple[Any, FakeDriver]:
    orm = await fake_orm(ENTITIES)
    driver = driver_of(orm)
    for i in range(1, count + 1):
        driver.add_row(meta_of(Author), {"id": i, "name": f"A{i}", "age": None if i % 3 else i})
        driver.add_row(meta_of(Book), {"id": i, "title": f"B{i}", "author": (i,)})
    return orm, driver


def _finds(driver: FakeDriver) -> list[SelectQuery]:
    return [q for op, q in driver.log if op == "find"]


async def test_a_driver_without_cursors_gets_keyset_batches() -> None:
    orm, driver = await _authors(10)
    em = orm.em.fork()
    assert not holds_cursor(em)  # Platform.server_side_cursors is off by default
    driver.clear_log()
    authors = [a async for a in em.stream(Author, order_by={"age": "desc"}, batch_size=4)]
    assert [a.age for a in authors] == [9, 6, 3, *([None] * 7)]  # NULLs last, then the key
    evicted = authors[0]
    assert not em.is_managed(evicted)
    # Its unloaded collection was dropped (freeing the entity at once); reading the attribute
    # gives an unloaded one again.
    assert "books" not in evicted.__dict__
    assert not evicted.books.initialized
    finds = _finds(driver)
    assert [q.limit for q in finds] == [4, 4, 4]
    assert finds[0].where is None
    # The second batch starts after the fourth row (age NULL, id 1): NULLs last, so only
    # the key can still grow.
    age, key = meta_of(Author).properties["age"], meta_of(Author).properties["id"]
    assert finds[1].where == And((Comparison(age, Op.EQ, None), Comparison(key, Op.GT, 1)))


async def test_connection_stream_defaults_to_keyset_batches() -> None:
    orm, _ = await _authors(7)
    meta = meta_of(Author)
    query = SelectQuery(meta, order_by=stream_order(meta, ()))
    async with orm.driver.acquire() as connection:
        batches = [[row["id"] for row in batch] async for batch in connection.stream(query, 3)]
    assert batches == [[1, 2, 3], [4, 5, 6], [7]]


async def test_untouched_entities_are_detached_at_the_next_batch() -> None:
    orm, _ = await _authors(9)
    em = orm.em.fork()
    seen: list[Author] = []
    async for author in em.stream(Author, batch_size=3, populate=["books"]):
        seen.append(author)
        if author.id == 2:
            author.name = "changed"
        assert len(em.unit_of_work.identity_map) <= 2 * 3 + 2  # a batch of authors and their books
    assert [em.is_managed(a) for a in seen] == [
        False, True, False, False, False, False, True, True, True,
    ]  # fmt: skip
    assert em.is_managed(seen[1].books[0])  # reached from a changed entity
    assert not em.is_managed(seen[0].books[0])


def test_keyset_positions() -> None:
    meta = meta_of(Author)
    age, key = meta.properties["age"], meta.properties["id"]

    def ordering(order_by: Any) -> Any:
        return keyset_ordering(
            SelectQuery(meta, order_by=stream_order(meta, parse_order_by(meta, order_by)))
        )

    assert ordering(None) == [(key, False, None)]
    ascending = ordering({"age": "asc"})
    assert ascending == [(age, False, False), (key, False, None)]  # NULLs last
    assert after(ascending, [5, 2]) == Or(
        (
            Or((Comparison(age, Op.GT, 5), Comparison(age, Op.EQ, None))),
            And((Comparison(age, Op.EQ, 5), Comparison(key, Op.GT, 2))),
        )
    )
    first = ordering({"age": "desc nulls first"})
    assert after(first, [None, 2]) == Or(
        (
            Comparison(age, Op.NE, None),
            And((Comparison(age, Op.EQ, None), Comparison(key, Op.GT, 2))),
        )
    )
    book = meta_of(Book)
    with pytest.raises(ValidationError, match="relation path"):
        keyset_ordering(
            SelectQuery(
                book, order_by=stream_order(book, parse_order_by(book, {"author": {"name": "asc"}}))
            )
        )
