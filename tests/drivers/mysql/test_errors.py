"""Server errors become ``orm.core.errors`` naming the table, constraint and columns."""

from __future__ import annotations

import pytest

from orm.core import ORM
from orm.core.errors import (
    CheckConstraintViolation,
    ConnectionError,
    DriverError,
    ForeignKeyViolation,
    NotNullViolation,
    SyntaxError,
    UniqueConstraintViolation,
)

from ...compliance.models import LIBRARY, Author, Book, Sample
from .conftest import MakeMySql


async def _author(orm: ORM) -> Author:
    em = orm.em.fork()
    author = Author("Jon", "jon@wall.st")
    author.books.add(Book(title="Winter"))
    em.persist(author)
    await em.flush()
    return author


async def test_duplicate_key_names_table_constraint_and_columns(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    await _author(orm)
    em = orm.em.fork()
    em.persist(Author("Other", "jon@wall.st"))
    with pytest.raises(UniqueConstraintViolation) as caught:
        await em.flush()
    error = caught.value
    assert (error.table, error.constraint, error.columns) == (
        "author",
        "uq_author_email",
        ("email",),
    )
    assert "jon@wall.st" in str(error) and "author.email" in str(error)


async def test_duplicate_primary_key(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    author = await _author(orm)
    async with orm.driver.acquire() as connection:
        with pytest.raises(UniqueConstraintViolation) as caught:
            await connection.execute(
                "INSERT INTO author (id, name, email) VALUES (:id, 'x', 'x@y')", {"id": author.id}
            )
    assert caught.value.constraint == "PRIMARY" and caught.value.columns == ()


async def test_deleting_a_referenced_row_names_the_foreign_key(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    author = await _author(orm)
    async with orm.driver.acquire() as connection:
        with pytest.raises(ForeignKeyViolation) as caught:
            await connection.execute("DELETE FROM author WHERE id = :id", {"id": author.id})
    error = caught.value
    assert (error.table, error.constraint, error.columns) == (
        "book",
        "fk_book_author_id",
        ("author_id",),
    )
    assert "rows of 'book' still reference it" in str(error)


async def test_a_missing_parent_row_names_the_foreign_key(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    async with orm.driver.acquire() as connection:
        with pytest.raises(ForeignKeyViolation) as caught:
            await connection.execute("INSERT INTO book (title, author_id) VALUES ('t', 999)")
    assert caught.value.constraint == "fk_book_author_id"
    assert "does not exist" in str(caught.value)


async def test_not_null(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    async with orm.driver.acquire() as connection:
        with pytest.raises(NotNullViolation) as caught:
            await connection.execute("INSERT INTO author (name, email) VALUES (NULL, 'a@b')")
        assert caught.value.columns == ("name",)
        with pytest.raises(NotNullViolation) as missing:
            await connection.execute("INSERT INTO author (email) VALUES ('a@b')")
        assert missing.value.columns == ("name",)


async def test_check_constraint_of_an_enum(make_mysql: MakeMySql) -> None:
    orm = await make_mysql([Sample])
    em = orm.em.fork()
    em.persist(Sample())
    await em.flush()
    async with orm.driver.acquire() as connection:
        with pytest.raises(CheckConstraintViolation) as caught:
            await connection.execute("UPDATE sample SET color = 'pink'")
    assert caught.value.constraint == "ck_sample_color"
    assert caught.value.table == "sample"


async def test_missing_table_says_to_create_the_schema(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    await orm.schema.drop()
    with pytest.raises(DriverError, match=r"schema\.create") as caught:
        await orm.em.fork().find(Author)
    assert caught.value.table == "author"


async def test_syntax_errors(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    async with orm.driver.acquire() as connection:
        with pytest.raises(SyntaxError):
            await connection.execute("SELEC 1")
        with pytest.raises(SyntaxError):
            await connection.execute("SELECT no_such_column FROM author")


async def test_too_long_values_name_the_column(make_mysql: MakeMySql) -> None:
    orm = await make_mysql(LIBRARY)
    em = orm.em.fork()
    # A flush refuses the value before sending it (ValidationError); raw SQL reaches the server.
    with pytest.raises(DriverError, match=r"'name' is longer") as caught:
        await em.execute(
            "INSERT INTO author (name, email) VALUES (:name, 'long@x.io')", {"name": "x" * 101}
        )
    assert caught.value.columns == ("name",)


async def test_an_unreachable_server_names_host_and_port() -> None:
    with pytest.raises(ConnectionError) as caught:
        await ORM.init(url="mysql://root@127.0.0.1:1/orm_test", entities=LIBRARY, connect_timeout=2)
    assert "127.0.0.1:1" in str(caught.value)


async def test_an_unknown_database_says_how_to_create_it(mysql_url: str) -> None:
    base = mysql_url.rsplit("/", 1)[0]
    with pytest.raises(ConnectionError, match="CREATE DATABASE `orm_no_such_db`"):
        await ORM.init(url=f"{base}/orm_no_such_db", entities=LIBRARY)
