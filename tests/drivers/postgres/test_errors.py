"""asyncpg errors arrive as ``orm.core`` errors naming the table, constraint and columns."""

from __future__ import annotations

import asyncio

import pytest

from orm.core import (
    CheckConstraintViolation,
    DeadlockError,
    DriverError,
    ForeignKeyViolation,
    NotNullViolation,
    UniqueConstraintViolation,
)
from orm.core.errors import SyntaxError as OrmSyntaxError

from ...compliance.models import LIBRARY, Author, Book, Sample
from .conftest import MakePg


async def test_unique_violation_names_table_constraint_and_columns(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    em.persist(Author("A", "same@x.io"))
    await em.flush()
    other = orm.em.fork()
    other.persist(Author("B", "same@x.io"))
    with pytest.raises(UniqueConstraintViolation) as info:
        await other.flush()
    error = info.value
    assert error.table == "author"
    assert error.constraint == "uq_author_email"
    assert error.columns == ("email",)
    assert "uq_author_email" in str(error) and "same@x.io" in str(error)
    assert error.sql is not None and error.sql.startswith("INSERT")


async def test_primary_key_violation(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    await em.execute("INSERT INTO author (id, name, email) VALUES (1, 'a', 'a@x.io')")
    with pytest.raises(UniqueConstraintViolation) as info:
        await em.execute("INSERT INTO author (id, name, email) VALUES (1, 'b', 'b@x.io')")
    assert info.value.constraint == "pk_author"
    assert info.value.columns == ("id",)


async def test_foreign_key_to_a_missing_row(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    em.create(Book, {"title": "Orphan", "author": 999})
    with pytest.raises(ForeignKeyViolation) as info:
        await em.flush()
    error = info.value
    assert error.table == "book"
    assert error.constraint == "fk_book_author_id"
    assert error.columns == ("author_id",)
    assert "does not exist in 'author'" in str(error)


async def test_foreign_key_of_a_row_still_referenced(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    author = Author("A", "a@x.io")
    author.books.add(Book(title="Kept"))
    em.persist(author)
    await em.flush()
    with pytest.raises(ForeignKeyViolation) as info:
        await orm.em.fork().execute("DELETE FROM author")
    assert info.value.constraint == "fk_book_author_id"
    assert "still referenced from table 'book'" in str(info.value)


async def test_not_null_names_the_column(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    with pytest.raises(NotNullViolation) as info:
        await orm.em.fork().execute("INSERT INTO author (name) VALUES ('no email')")
    assert info.value.table == "author"
    assert info.value.columns == ("email",)
    assert "author.email cannot be NULL" in str(info.value)


async def test_check_constraint_of_an_enum(make_pg: MakePg) -> None:
    orm = await make_pg([Sample])
    with pytest.raises(CheckConstraintViolation) as info:
        await orm.em.fork().execute(
            "INSERT INTO sample (id, count, text, ratio, flag, amount, color, priority) "
            "VALUES (gen_random_uuid(), 0, '', 0, false, 0, 'pink', 1)"
        )
    assert info.value.table == "sample"
    assert info.value.constraint == "ck_sample_color"
    assert "enum" in str(info.value)


async def test_syntax_and_schema_errors(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    with pytest.raises(OrmSyntaxError, match="rejected the SQL"):
        await em.execute("SELEC 1")
    with pytest.raises(DriverError, match=r"schema\.create"):
        await em.execute("SELECT * FROM no_such_table")
    with pytest.raises(OrmSyntaxError, match=r"schema\.update"):
        await em.execute("SELECT no_such_column FROM author")


async def test_a_too_long_string_says_how_to_fix_it(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    # name is Property(length=100). A flush refuses the value before sending it
    # (ValidationError); raw SQL reaches the server.
    with pytest.raises(DriverError, match="length"):
        await em.execute(
            "INSERT INTO author (name, email) VALUES (:name, 'long@x.io')", {"name": "x" * 101}
        )


async def test_statements_after_an_error_in_a_transaction_are_explained(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    em = orm.em.fork()
    with pytest.raises(DriverError, match="aborted by an earlier error"):
        async with em.transaction():
            with pytest.raises(OrmSyntaxError):
                await em.execute("SELEC 1")
            await em.execute("SELECT 1")


async def test_a_failed_flush_inside_a_transaction_leaves_it_usable(make_pg: MakePg) -> None:
    """Each flush in a transaction runs in a savepoint, so PostgreSQL's abort stays local."""
    orm = await make_pg(LIBRARY)
    seed = orm.em.fork()
    seed.persist(Author("Taken", "taken@x.io"))
    await seed.flush()
    em = orm.em.fork()
    async with em.transaction():
        em.persist(Author("Kept", "kept@x.io"))
        await em.flush()
        clash = orm.em.fork()
        async with clash.transaction():
            clash.persist(Author("Dup", "taken@x.io"))
            with pytest.raises(UniqueConstraintViolation):
                await clash.flush()
            clash.clear()
            clash.persist(Author("Fine", "fine@x.io"))
    emails = [a.email for a in await orm.em.fork().find(Author, order_by={"email": "asc"})]
    assert emails == ["fine@x.io", "kept@x.io", "taken@x.io"]


async def test_opposite_lock_order_is_a_deadlock_error(make_pg: MakePg) -> None:
    orm = await make_pg(LIBRARY)
    seed = orm.em.fork()
    seed.persist([Author("One", "1@x.io"), Author("Two", "2@x.io")])
    await seed.flush()
    first_locked = [asyncio.Event(), asyncio.Event()]

    async def worker(index: int, order: tuple[str, str]) -> None:
        em = orm.em.fork()
        async with em.transaction():
            await em.execute("UPDATE author SET age = 1 WHERE email = :e", {"e": order[0]})
            first_locked[index].set()
            await first_locked[1 - index].wait()
            await em.execute("UPDATE author SET age = 2 WHERE email = :e", {"e": order[1]})

    results = await asyncio.wait_for(
        asyncio.gather(
            worker(0, ("1@x.io", "2@x.io")),
            worker(1, ("2@x.io", "1@x.io")),
            return_exceptions=True,
        ),
        30,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1, results
    assert isinstance(failures[0], DeadlockError)
    assert "retry" in str(failures[0])
