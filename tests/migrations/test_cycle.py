"""create -> up -> down -> up leaves the same schema; entity changes are detected and applied."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orm.migrations import Migrator
from tests.migrations.conftest import MakeOrm
from tests.migrations.models import version_1, version_2
from tests.migrations.support import snapshot

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")

BOOKKEEPING = ("orm_migrations", "orm_migrations_lock")


def lint(path: Path) -> None:
    """A generated migration passes ruff and is formatted (line length 100)."""
    for command in (["check"], ["format", "--line-length=100", "--check"]):
        linted = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--isolated", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr


async def test_initial_migration_up_down_up_gives_the_same_schema(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    created = await migrator.create()
    assert created is not None and created.path.exists()
    assert [f.name for f in migrator.files()] == [created.name]
    assert [f.name for f in await migrator.pending()] == [created.name]

    assert (await migrator.up()).names == [created.name]
    first = await snapshot(db_url, exclude=BOOKKEEPING)
    assert set(first) == {"author", "book"}
    assert (await migrator.diff()).is_empty
    assert await migrator.pending() == []

    assert (await migrator.down()).names == [created.name]
    assert await snapshot(db_url, exclude=BOOKKEEPING) == {}
    assert [f.name for f in await migrator.pending()] == [created.name]

    await migrator.up()
    assert await snapshot(db_url, exclude=BOOKKEEPING) == first
    assert (await migrator.diff()).is_empty
    assert await migrator.create() is None  # nothing to do


async def test_changed_entities_make_a_migration_whose_down_restores_the_schema(
    make_orm: MakeOrm, db_url: str
) -> None:
    first = await make_orm(version_1())
    await Migrator(first).create()
    await Migrator(first).up()
    before = await snapshot(db_url, exclude=BOOKKEEPING)

    second = await make_orm(version_2())
    migrator = Migrator(second)
    diff = await migrator.diff()
    assert not diff.is_empty
    warnings = " ".join(diff.warnings)
    assert "drops column author.age" in warnings
    assert "author.name" in warnings  # VARCHAR(100) -> VARCHAR(50) is narrowing
    assert "book.price" not in warnings  # NUMERIC(10, 2) -> NUMERIC(12, 2) is widening

    created = await migrator.create("second version")
    assert created is not None and created.name.endswith("_second_version")
    source = created.path.read_text()
    assert "# DATA LOSS: " in source and "author.age" in source
    lint(created.path)

    await migrator.up()
    assert (await migrator.diff()).is_empty
    after = await snapshot(db_url, exclude=BOOKKEEPING)
    assert {"tag", "book_tags"} <= set(after)

    await migrator.down()
    assert await snapshot(db_url, exclude=BOOKKEEPING) == before
    assert (await Migrator(first).diff()).is_empty

    await migrator.up()
    assert await snapshot(db_url, exclude=BOOKKEEPING) == after


async def test_data_survives_a_migration_that_rebuilds_or_alters_tables(
    make_orm: MakeOrm,
) -> None:
    first = await make_orm(version_1())
    await Migrator(first).create()
    await Migrator(first).up()
    em = first.em.fork()
    author_class, book_class = version_1_classes(first)
    author = author_class(name="Ann", email="ann@example.com")
    em.persist(author)
    em.persist(book_class(title="Dune", author=author))
    await em.flush()

    second = await make_orm(version_2())
    migrator = Migrator(second)
    await migrator.create()
    await migrator.up()
    rows = await second.em.fork().execute(
        "SELECT a.name, a.email, b.title FROM author a JOIN book b ON b.author_id = a.id"
    )
    assert [tuple(r.values()) for r in rows.rows] == [("Ann", "ann@example.com", "Dune")]


def version_1_classes(orm: object) -> tuple[type, type]:
    metadata = getattr(orm, "metadata")  # noqa: B009
    by_name = {cls.__name__: cls for cls in metadata}
    return by_name["Author"], by_name["Book"]
