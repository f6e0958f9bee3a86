"""em.find_or_create and em.find_with_new_or_changed on the fake driver: what they query."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orm.core import (
    ORM,
    PRUNE,
    Cascade,
    Collection,
    ManyToOne,
    NotSupportedError,
    OneToMany,
    PrimaryKey,
    ValidationError,
    entity,
)
from orm.core.state import meta_of

from .fakes import FakeDriver, driver_of, fake_orm


@entity
class Shelf:
    id: int = PrimaryKey()
    name: str
    items: Collection[Item] = OneToMany("Item", mapped_by="shelf", cascade=Cascade.ALL)


@entity
class Item:
    id: int = PrimaryKey()
    label: str
    size: int | None = None
    shelf: Shelf | None = ManyToOne(Shelf, nullable=True)
    meta: dict[str, Any] | None = None


async def _store() -> tuple[ORM, FakeDriver]:
    orm = await fake_orm([Shelf, Item])
    driver = driver_of(orm)
    driver.add_row(meta_of(Shelf), {"id": 1, "name": "top"})
    for number, size in ((1, 5), (2, 10), (3, 15)):
        row = {"id": number, "label": f"i{number}", "size": size, "shelf": (1,), "meta": None}
        driver.add_row(meta_of(Item), row)
    return orm, driver


# -- find_or_create --------------------------------------------------------------------------


async def test_two_calls_in_one_fork_create_one_entity() -> None:
    orm, driver = await _store()
    em = orm.em.fork()
    driver.clear_log()
    first = await em.find_or_create(Item, {"label": "new"}, defaults={"size": 1})
    assert driver.ops() == ["find"]  # not in the fork: the database is asked once
    driver.clear_log()
    second = await em.find_or_create(Item, {"label": "new"}, defaults={"size": 99})
    assert second is first and first.size == 1
    assert driver.log == []  # found in the fork, no query
    await em.flush()
    inserts = [w for w in driver.writes() if type(w).__name__ == "InsertBatch"]
    assert len(inserts) == 1 and len(inserts[0].rows) == 1


async def test_calls_started_together_still_create_one() -> None:
    orm, _ = await _store()
    em = orm.em.fork()
    made = await asyncio.gather(*(em.find_or_create(Item, {"label": "x"}) for _ in range(3)))
    assert made[0] is made[1] is made[2]


async def test_finds_a_row_of_the_database_and_a_managed_entity() -> None:
    orm, driver = await _store()
    em = orm.em.fork()
    found = await em.find_or_create(Item, {"label": "i2"})
    assert found.id == 2 and em.is_managed(found)
    driver.clear_log()
    assert await em.find_or_create(Item, {"label": "i2", "shelf": 1}) is found
    assert driver.log == []  # managed in the fork: matched in memory


async def test_a_changed_entity_no_longer_matches() -> None:
    orm, _ = await _store()
    em = orm.em.fork()
    item = await em.find_one_or_fail(Item, 2)
    item.label = "renamed"
    created = await em.find_or_create(Item, {"label": "i2"})
    assert created is not item and created.id is None
    assert await em.find_or_create(Item, {"label": "renamed"}) is item


async def test_a_new_related_entity_is_matched_by_identity_without_a_query() -> None:
    orm, driver = await _store()
    em = orm.em.fork()
    shelf = Shelf(name="new shelf")
    em.persist(shelf)
    driver.clear_log()
    first = await em.find_or_create(Item, {"label": "a", "shelf": shelf})
    again = await em.find_or_create(Item, {"label": "a", "shelf": shelf})
    assert again is first and first.shelf is shelf
    assert driver.log == []  # no row can point to an unflushed shelf


async def test_cascaded_new_entities_are_seen() -> None:
    orm, _ = await _store()
    em = orm.em.fork()
    shelf = Shelf(name="s")
    child = Item(label="child")
    shelf.items.add(child)
    em.persist(shelf)  # child reaches the flush through Cascade.PERSIST only
    assert await em.find_or_create(Item, {"label": "child"}) is child


async def test_where_takes_equality_values_only() -> None:
    orm, _ = await _store()
    em = orm.em.fork()
    with pytest.raises(ValidationError, match=r"Item\.size takes a plain value"):
        await em.find_or_create(Item, {"size": {"$gt": 3}})
    with pytest.raises(ValidationError, match="equality values only"):
        await em.find_or_create(Item, {"$or": [{"size": 3}]})
    with pytest.raises(ValidationError, match=r"Item\.size takes one value"):
        await em.find_or_create(Item, {"size": [1, 2]})
    with pytest.raises(ValidationError, match=r"Item\.meta is JSON"):
        await em.find_or_create(Item, {"meta": None})
    with pytest.raises(ValidationError, match="Item has no property 'nope'"):
        await em.find_or_create(Item, {"nope": 1})
    with pytest.raises(ValidationError, match="label given both in where and in defaults"):
        await em.find_or_create(Item, {"label": "a"}, defaults={"label": "b"})
    with pytest.raises(ValidationError, match="at least one property"):
        await em.find_or_create(Item, {"label": PRUNE})
    with pytest.raises(ValidationError, match=r"Shelf\.items is not stored"):
        await em.find_or_create(Shelf, {"items": 1})


# -- find_with_new_or_changed ----------------------------------------------------------------


async def test_merges_new_and_changed_entities_in_order() -> None:
    orm, driver = await _store()
    em = orm.em.fork()
    small, medium = await em.find(Item, {"id": [1, 2]}, order_by={"id": "asc"})
    small.size = 100  # no longer matches size < 12
    large = await em.find_one_or_fail(Item, 3)
    large.size = 7  # now matches
    new = Item(label="new", size=8)
    em.persist(new)
    em.persist(Item(label="too big", size=50))
    driver.clear_log()
    found = await em.find_with_new_or_changed(Item, {"size": {"$lt": 12}}, order_by={"size": "asc"})
    assert found == [large, new, medium]
    assert driver.ops() == ["find"]


async def test_removed_entities_are_left_out_and_limit_applies_after_the_merge() -> None:
    orm, driver = await _store()
    em = orm.em.fork()
    first = await em.find_one_or_fail(Item, 1)
    em.remove(first)
    em.persist(Item(label="tiny", size=0))
    driver.clear_log()
    page = await em.find_with_new_or_changed(Item, None, order_by={"size": "asc"}, limit=2)
    assert [i.label for i in page] == ["tiny", "i2"]
    (query,) = [q for op, q in driver.log if op == "find"]
    assert query.limit == 3  # one more row, for the removed one that drops out


async def test_filters_memory_cannot_evaluate_fail_before_any_query() -> None:
    orm, driver = await _store()
    em = orm.em.fork()
    driver.clear_log()
    with pytest.raises(NotSupportedError, match=r"Shelf\.items is a to-many relation"):
        await em.find_with_new_or_changed(Shelf, {"items": {"label": "x"}})
    assert driver.log == []
