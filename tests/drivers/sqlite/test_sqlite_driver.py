"""What is specific to the SQLite driver: URLs, options, files, error translation, schema update."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orm.core import (
    ORM,
    CheckConstraintViolation,
    ConfigurationError,
    DriverError,
    ForeignKeyViolation,
    NotNullViolation,
    PoolTimeoutError,
    PrimaryKey,
    UniqueConstraintViolation,
    ValidationError,
    entity,
)
from orm.core.errors import SyntaxError as OrmSyntaxError
from orm.sqlite import SqliteDriver, parse_sqlite_url

from ...compliance.models import LIBRARY, Author, Book, Sample


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite://:memory:", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite://", ":memory:"),
        ("sqlite:///app.db", "app.db"),
        ("sqlite:////tmp/app.db", "/tmp/app.db"),
    ],
)
def test_url_forms(url: str, path: str) -> None:
    assert parse_sqlite_url(url) == path


def test_bad_urls_and_options() -> None:
    with pytest.raises(ConfigurationError, match="three slashes"):
        parse_sqlite_url("sqlite://app.db")
    with pytest.raises(ConfigurationError, match="unknown SQLite option"):
        SqliteDriver.from_url("sqlite://:memory:", pool_size=3)
    with pytest.raises(ConfigurationError, match="pool_max_size=1"):
        SqliteDriver.from_url("sqlite://:memory:", pool_max_size=2)


async def test_a_file_database_persists_between_inits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    orm = await ORM.init(url=url, entities=LIBRARY)
    await orm.schema.create()
    em = orm.em.fork()
    em.persist(Author("Kept", "kept@x.io"))
    await em.flush()
    await orm.close()
    again = await ORM.init(url=url, entities=LIBRARY)
    assert [a.name for a in await again.em.fork().find(Author)] == ["Kept"]
    await again.close()


async def test_unopenable_file_is_a_connection_error(tmp_path: Path) -> None:
    from orm.core.errors import ConnectionError as OrmConnectionError

    with pytest.raises(OrmConnectionError, match="cannot open the SQLite database"):
        await ORM.init(url=f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}", entities=LIBRARY)


@pytest.fixture
async def orm() -> AsyncIterator[ORM]:
    instance = await ORM.init(url="sqlite://:memory:", entities=[*LIBRARY, Sample])
    await instance.schema.create()
    yield instance
    await instance.close()


async def test_errors_name_the_table_constraint_and_columns(orm: ORM) -> None:
    em = orm.em.fork()
    em.persist(Author("A", "same@x.io"))
    await em.flush()
    other = orm.em.fork()
    other.persist(Author("B", "same@x.io"))
    with pytest.raises(UniqueConstraintViolation) as unique:
        await other.flush()
    assert unique.value.table == "author"
    assert unique.value.columns == ("email",)
    assert unique.value.constraint == "uq_author_email"
    assert "uq_author_email" in str(unique.value)

    with pytest.raises(NotNullViolation) as not_null:
        await em.execute("INSERT INTO author (email) VALUES ('n@x.io')")
    assert not_null.value.table == "author" and not_null.value.columns == ("name",)

    with pytest.raises(ForeignKeyViolation):
        await em.execute("INSERT INTO book (title, author_id) VALUES ('x', 999)")

    with pytest.raises(CheckConstraintViolation):
        await em.execute(
            "INSERT INTO sample (id, count, text, ratio, flag, amount, color, priority) "
            "VALUES ('x', 0, '', 0, 0, 0, 'purple', 1)"
        )
    with pytest.raises(OrmSyntaxError):
        await em.execute("SELEC 1")
    with pytest.raises(DriverError, match="schema is missing"):
        await em.execute("SELECT * FROM nowhere")
    with pytest.raises(ValidationError, match="as a dict"):
        await em.execute("SELECT 1", [1])  # type: ignore[arg-type]


async def test_pool_exhaustion_times_out_with_a_clear_error(tmp_path: Path) -> None:
    orm = await ORM.init(
        url=f"sqlite:///{tmp_path / 'p.db'}", entities=LIBRARY, acquire_timeout=0.05
    )
    await orm.schema.create()
    em = orm.em.fork()
    async with em.transaction():  # holds the only connection
        with pytest.raises(PoolTimeoutError, match="no sqlite connection became free"):
            await orm.em.fork().count(Author)
    assert await orm.em.fork().count(Author) == 0
    await orm.close()


async def test_schema_update_is_additive(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"

    @entity(table="thing")
    class ThingV1:
        id: int = PrimaryKey()
        name: str

    first = await ORM.init(url=url, entities=[ThingV1])
    await first.schema.create()
    em = first.em.fork()
    em.persist(ThingV1(name="old row"))
    await em.flush()
    await first.close()

    @entity(table="thing")
    class ThingV2:
        id: int = PrimaryKey()
        name: str
        note: str | None = None

    second = await ORM.init(url=url, entities=[ThingV2, *LIBRARY])
    await second.schema.update()
    await second.schema.update()  # nothing left to do
    em = second.em.fork()
    (row,) = await em.find(ThingV2)
    assert row.name == "old row" and row.note is None
    em.persist(Author("New table", "t@x.io"))
    await em.flush()
    await second.close()


async def test_create_sql_lists_the_ddl(orm: ORM) -> None:
    statements = await orm.schema.create_sql()
    assert any(s.startswith("CREATE TABLE book_tags") for s in statements)
    assert any("FOREIGN KEY(author_id) REFERENCES author (id)" in s for s in statements)


async def test_debug_prints_statements(capsys: pytest.CaptureFixture[str]) -> None:
    orm = await ORM.init(url="sqlite://:memory:", entities=LIBRARY, debug=True)
    try:
        await orm.schema.create()
        await orm.em.fork().count(Book)
    finally:
        await orm.close()
        logger = logging.getLogger("orm.sql")
        for handler in list(logger.handlers):
            if getattr(handler, "_orm_debug_handler", False):
                logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    err = capsys.readouterr().err
    assert "[orm.sql] SELECT count(*)" in err
    assert "params," in err and " ms]" in err


async def test_concurrent_forks_share_one_connection_safely(orm: ORM) -> None:
    async def work(index: int) -> int | None:
        em = orm.em.fork()
        author = Author(f"A{index}", f"a{index}@x.io")
        em.persist(author)
        await em.flush()
        again = await em.find_one_or_fail(Author, {"email": f"a{index}@x.io"})
        assert again is author
        return author.id

    ids = await asyncio.gather(*(work(i) for i in range(20)))
    assert len(set(ids)) == 20
