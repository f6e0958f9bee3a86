"""Cursor (keyset) pagination with em.find_by_cursor."""

from __future__ import annotations

import json

import pytest

from orm.core import ORM, ValidationError

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author


async def _authors(orm: ORM) -> None:
    em = orm.em.fork()
    em.persist([Author(f"A{i:02}", f"a{i}@x.io", age=20 + i % 4) for i in range(10)])
    await em.flush()


def _names(page: object) -> list[str]:
    return [a.name for a in page]  # type: ignore[attr-defined]


async def test_forward_pages_cover_every_row_once(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm)
    em = orm.em.fork()
    order = {"name": "desc"}
    expected = [a.name for a in await em.find(Author, order_by=order)]
    seen: list[str] = []
    page = await em.find_by_cursor(Author, order_by=order, first=4)
    assert page.total_count == 10 and not page.has_prev_page
    while True:
        seen.extend(_names(page))
        if not page.has_next_page:
            break
        # Cursors survive a JSON round trip (e.g. through an HTTP client).
        after = json.loads(json.dumps(page.end_cursor))
        page = await em.find_by_cursor(Author, order_by=order, first=4, after=after)
        assert page.has_prev_page
    assert seen == expected
    assert len(page) == 2


async def test_backward_pages_and_filters(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm)
    em = orm.em.fork()
    where = {"age": {"$gte": 21}}
    order = {"name": "asc"}
    everything = [a.name for a in await em.find(Author, where, order_by=order)]
    last = await em.find_by_cursor(Author, where, order_by=order, last=3)
    assert _names(last) == everything[-3:]
    assert last.has_prev_page and not last.has_next_page
    assert last.start_cursor is not None
    sql_log.clear()
    before = await em.find_by_cursor(
        Author, where, order_by=order, last=3, before=last.start_cursor, include_count=False
    )
    assert _names(before) == everything[-6:-3]
    assert before.has_next_page and before.total_count is None
    assert sql_log.count("SELECT") == 1


async def test_tampered_or_foreign_cursors_are_rejected(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _authors(orm)
    em = orm.em.fork()
    page = await em.find_by_cursor(Author, order_by={"name": "asc"}, first=2)
    cursor = page.end_cursor
    assert cursor is not None
    tampered = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    for bad in (tampered, "not a cursor", ""):
        with pytest.raises(ValidationError, match="invalid cursor"):
            await em.find_by_cursor(Author, order_by={"name": "asc"}, first=2, after=bad)
    with pytest.raises(ValidationError, match="invalid cursor"):  # made for another ordering
        await em.find_by_cursor(Author, order_by={"email": "asc"}, first=2, after=cursor)


async def test_cursor_argument_errors(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    with pytest.raises(ValidationError, match="exactly one of first= or last="):
        await em.find_by_cursor(Author, order_by={"name": "asc"})
    with pytest.raises(ValidationError, match="nullable"):
        await em.find_by_cursor(Author, order_by={"age": "asc"}, first=1)
    with pytest.raises(ValidationError, match="needs order_by"):
        await em.find_by_cursor(Author, order_by={}, first=1)


async def test_ties_are_broken_by_the_primary_key(make_orm: MakeOrm) -> None:
    from .models import Sample

    orm = await make_orm([Sample])
    em = orm.em.fork()
    em.persist([Sample(count=i % 3, text=f"s{i}") for i in range(9)])
    await em.flush()
    order = {"count": "asc"}
    seen: list[str] = []
    after = None
    while True:
        page = await em.find_by_cursor(Sample, order_by=order, first=2, after=after)
        seen.extend(s.text for s in page)
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert sorted(seen) == sorted(f"s{i}" for i in range(9))
    assert len(seen) == 9
    counts = [int(t[1:]) % 3 for t in seen]
    assert counts == sorted(counts)
