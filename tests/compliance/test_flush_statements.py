"""Statement counts of a flush: what the driver actually sends."""

from __future__ import annotations

import pytest

from orm.core import UniqueConstraintViolation

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author, Book, Tag


def _graph() -> Author:
    author = Author("Jon Snow", "jon@wall.st")
    for index in range(3):
        book = Book(title=f"Book {index}")
        book.tags.add(Tag(name=f"t{index}a"), Tag(name=f"t{index}b"))
        author.books.add(book)
    return author


async def test_persisting_a_graph_is_one_insert_per_table_in_one_transaction(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    em.persist(_graph())
    sql_log.clear()
    await em.flush()
    tables = sql_log.targets_of("INSERT")
    if orm.driver.platform.link_arrays:
        # The books' tag ids are written in the books themselves.
        assert tables == ["author", "tag", "book"]
        assert sql_log.write_operations() == ["INSERT"] * 3
    else:
        assert tables == ["author", "tag", "book", "book_tags"]
    assert sql_log.count("BEGIN") + sql_log.count("START") == 1
    assert sql_log.count("COMMIT") == 1
    assert await em.fork().count(Book) == 3
    assert await em.fork().count(Tag) == 6


async def test_changing_three_titles_is_one_update(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    em.persist(_graph())
    await em.flush()
    reader = orm.em.fork()
    books = await reader.find(Book, order_by={"id": "asc"})
    for book in books:
        book.title = book.title.upper()
    sql_log.clear()
    await reader.flush()
    assert sql_log.write_operations() == ["UPDATE"]
    fresh = await orm.em.fork().find(Book, order_by={"id": "asc"})
    assert [b.title for b in fresh] == ["BOOK 0", "BOOK 1", "BOOK 2"]


async def test_update_names_only_changed_columns(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    em.persist(Author("A", "a@x.io"))
    await em.flush()
    author = await orm.em.fork().find_one_or_fail(Author, {"email": "a@x.io"})
    author.age = 41
    sql_log.clear()
    await orm.em.fork().flush()  # another fork has nothing to do
    assert sql_log.statements == []
    state_em = _em_of(author)
    await state_em.flush()
    (update,) = sql_log.writes()
    assert "age" in update and "name" not in update and "email" not in update


def _em_of(entity: object):  # type: ignore[no-untyped-def]
    from orm.core.state import state_of

    uow = state_of(entity).uow
    assert uow is not None
    return uow.em


async def test_flush_with_nothing_changed_sends_nothing(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    em.persist(_graph())
    await em.flush()
    loaded = orm.em.fork()
    await loaded.find(Author, populate=["books.tags"])
    sql_log.clear()
    await loaded.flush()
    await em.flush()
    assert sql_log.statements == []


async def test_cascade_remove_deletes_children_first(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    em.persist(_graph())
    await em.flush()
    other = orm.em.fork()
    author = await other.find_one_or_fail(Author, {"email": "jon@wall.st"})
    other.remove(author)
    sql_log.clear()
    await other.flush()
    assert sql_log.targets_of("DELETE") == ["book", "author"]
    check = orm.em.fork()
    assert await check.count(Author) == 0
    assert await check.count(Book) == 0
    assert await check.count(Tag) == 6


async def test_failed_flush_leaves_no_rows_and_can_be_retried(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    em.persist(Author("Taken", "taken@x.io"))
    await em.flush()

    em = orm.em.fork()
    authors = [Author(f"A{i}", f"a{i}@x.io") for i in range(5)]
    authors[2].email = "taken@x.io"  # collides in the middle of the batch
    for author in authors:
        author.books.add(Book(title=f"by {author.name}"))
    em.persist(authors)
    with pytest.raises(UniqueConstraintViolation) as caught:
        await em.flush()
    assert caught.value.table == "author"
    assert all(a.id is None for a in authors)
    assert all(b.id is None for a in authors for b in a.books)
    assert await orm.em.fork().count(Author) == 1
    assert await orm.em.fork().count(Book) == 0

    authors[2].email = "fixed@x.io"
    await em.flush()
    assert all(a.id is not None for a in authors)
    assert await orm.em.fork().count(Author) == 6
    assert await orm.em.fork().count(Book) == 5
