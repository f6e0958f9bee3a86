"""Partial loading: fields= and exclude= on find / find_one."""

from __future__ import annotations

import pytest

from orm.core import ORM, NotLoadedError, ValidationError

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author, Book


async def _seed(orm: ORM) -> int:
    em = orm.em.fork()
    author = Author("Ann", "ann@x.io", age=40)
    author.books.add(Book(title="One"))
    em.persist(author)
    await em.flush()
    assert author.id is not None
    return author.id


async def test_fields_selects_only_those_columns(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    author_id = await _seed(orm)
    em = orm.em.fork()
    sql_log.clear()
    (author,) = await em.find(Author, {"id": author_id}, fields=["name"])
    select = sql_log.of_kind("SELECT")[0]
    assert "email" not in select and "age" not in select
    assert author.id == author_id and author.name == "Ann"
    with pytest.raises(NotLoadedError, match=r"Author\.email was not loaded"):
        _ = author.email


async def test_a_flush_never_writes_fields_that_were_not_loaded(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    author_id = await _seed(orm)
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, author_id, exclude=["email", "age"])
    author.name = "Renamed"
    sql_log.clear()
    await em.flush()
    (update,) = sql_log.writes()
    assert "name" in update and "email" not in update and "age" not in update
    stored = await orm.em.fork().find_one_or_fail(Author, author_id)
    assert (stored.name, stored.email, stored.age) == ("Renamed", "ann@x.io", 40)


async def test_a_later_full_load_completes_a_partial_entity(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    author_id = await _seed(orm)
    em = orm.em.fork()
    partial = await em.find_one_or_fail(Author, author_id, fields=["age"])
    partial.age = 41  # an unflushed change survives the fuller load
    full = await em.find_one_or_fail(Author, {"email": "ann@x.io"})
    assert full is partial
    assert (full.name, full.email, full.age) == ("Ann", "ann@x.io", 41)
    await em.flush()
    assert (await orm.em.fork().find_one_or_fail(Author, author_id)).age == 41


async def test_partial_relation_key_and_refresh(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    em = orm.em.fork()
    (book,) = await em.find(Book, fields=["author"])
    assert book.author.id is not None
    with pytest.raises(NotLoadedError):
        _ = book.title
    await em.refresh(book)
    assert book.title == "One"


async def test_invalid_fields_are_validation_errors(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    with pytest.raises(ValidationError, match="no property 'nope'"):
        await em.find(Author, fields=["nope"])
    with pytest.raises(ValidationError, match="populate="):
        await em.find(Author, fields=["books"])
    with pytest.raises(ValidationError, match="cannot be excluded"):
        await em.find(Author, exclude=["id"])
    with pytest.raises(ValidationError, match="not both"):
        await em.find(Author, fields=["name"], exclude=["age"])
    assert sql_log.statements == []
