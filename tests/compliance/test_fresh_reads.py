"""Locking reads and ``refresh=True`` bring the fork up to date with the rows they read.

A read-modify-write under a row lock must work on the values the lock protects, not on what
the fork loaded earlier: otherwise two such writers lose each other's updates.
"""

from __future__ import annotations

import pytest

from orm.core import ORM, EntityStateError, LockMode, ValidationError

from .conftest import MakeOrm
from .models import LIBRARY, Author, Book


async def _ann(make_orm: MakeOrm) -> tuple[ORM, int]:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    ann = Author("Ann", "ann@x.io", age=30)
    em.persist(ann)
    await em.flush()
    return orm, ann.id


@pytest.mark.capability("lock_modes")
async def test_a_locking_read_refreshes_an_entity_already_in_the_fork(
    make_orm: MakeOrm,
) -> None:
    orm, ann_id = await _ann(make_orm)
    em = orm.em.fork()
    stale = await em.find_one_or_fail(Author, ann_id)
    # Another request changes the row after this fork loaded it.
    other = orm.em.fork()
    (await other.find_one_or_fail(Author, ann_id)).age = 31
    await other.flush()

    async with em.transaction():
        locked = await em.find_one_or_fail(Author, ann_id, lock_mode=LockMode.PESSIMISTIC_WRITE)
        assert locked is stale  # still one object per row
        assert locked.age == 31  # the locked row's values, not the stale ones
        locked.age += 1
    check = orm.em.fork()
    assert (await check.find_one_or_fail(Author, ann_id)).age == 32  # no lost update


@pytest.mark.capability("lock_modes")
async def test_a_locking_read_refuses_to_overwrite_unflushed_changes(make_orm: MakeOrm) -> None:
    orm, ann_id = await _ann(make_orm)
    em = orm.em.fork()
    ann = await em.find_one_or_fail(Author, ann_id)
    ann.age = 99
    async with em.transaction():
        with pytest.raises(EntityStateError, match=r"Author \(\d+,\) has unflushed changes to age"):
            await em.find(Author, {"id": ann_id}, lock_mode=LockMode.PESSIMISTIC_WRITE)
        assert ann.age == 99  # nothing was overwritten
        await em.flush()
        locked = await em.find(Author, {"id": ann_id}, lock_mode=LockMode.PESSIMISTIC_WRITE)
        assert locked == [ann] and ann.age == 99


async def test_refresh_true_overwrites_entities_of_the_fork(make_orm: MakeOrm) -> None:
    orm, ann_id = await _ann(make_orm)
    em = orm.em.fork()
    ann = await em.find_one_or_fail(Author, ann_id)
    other = orm.em.fork()
    (await other.find_one_or_fail(Author, ann_id)).name = "Ann B."
    await other.flush()

    # The identity map rule: a plain read keeps the loaded entity as it is.
    assert (await em.find_one_or_fail(Author, ann_id)).name == "Ann"
    assert (await em.find(Author))[0].name == "Ann"
    # refresh=True reads the row again, by key too (no identity-map shortcut).
    assert (await em.find_one_or_fail(Author, ann_id, refresh=True)).name == "Ann B."
    (await other.find_one_or_fail(Author, ann_id)).name = "Ann C."
    await other.flush()
    assert [a.name for a in await em.find(Author, refresh=True)] == ["Ann C."]
    assert ann.name == "Ann C."
    # It is now clean: a flush writes nothing back.
    await em.flush()
    assert (await orm.em.fork().find_one_or_fail(Author, ann_id)).name == "Ann C."


async def test_refresh_true_of_a_partial_read_keeps_the_other_fields(make_orm: MakeOrm) -> None:
    orm, ann_id = await _ann(make_orm)
    em = orm.em.fork()
    ann = await em.find_one_or_fail(Author, ann_id)
    other = orm.em.fork()
    changed = await other.find_one_or_fail(Author, ann_id)
    changed.name, changed.age = "Ann B.", 40
    await other.flush()
    await em.find(Author, {"id": ann_id}, fields=["name"], refresh=True)
    assert (ann.name, ann.age) == ("Ann B.", 30)  # only the column read was refreshed
    await em.flush()  # and nothing looks changed
    assert (await orm.em.fork().find_one_or_fail(Author, ann_id)).age == 40


async def test_refresh_must_be_a_bool_and_needs_select_in_with_populate(
    make_orm: MakeOrm,
) -> None:
    orm, _ = await _ann(make_orm)
    em = orm.em.fork()
    with pytest.raises(ValidationError, match="refresh must be True or False"):
        await em.find(Author, refresh="yes")
    if orm.driver.platform.joined_loading:
        with pytest.raises(ValidationError, match="refresh=True with populate needs"):
            await em.find(Book, populate=["author"], strategy="joined", refresh=True)
