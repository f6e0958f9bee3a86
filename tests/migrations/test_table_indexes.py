"""Table-level indexes and unique constraints: created, reflected, diffed and migrated."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from orm.core import UniqueConstraintViolation
from orm.core.orm import driver_class_for
from orm.migrations import Migrator
from orm.migrations.connection import sql_driver
from orm.migrations.reflection import run_reflected
from tests.migrations.conftest import MakeOrm
from tests.migrations.models import with_key_part_index, with_table_indexes, without_table_indexes
from tests.migrations.support import snapshot
from tests.migrations.test_cycle import BOOKKEEPING, lint

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")

WANTED_INDEXES = {
    ("writer", "ix_writer_last_name_first_name"): (("last_name", "first_name"), False),
    ("writer", "ix_writer_mail"): (("email",), False),
    ("novel", "ix_novel_year_title"): (("year", "title"), False),
    ("novel", "uq_novel_by_writer"): (("writer_id", "title"), True),
    ("novel", "uq_novel_title_year"): (("title", "year"), True),
}


def _named(connection: sa.Connection) -> dict[tuple[str, str], tuple[tuple[str, ...], bool]]:
    """Every index and unique constraint by (table, name): (columns, unique)."""
    inspector = sa.inspect(connection)
    found: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {}
    for table in ("writer", "novel"):
        for index in inspector.get_indexes(table):
            columns = tuple(str(c) for c in index["column_names"])
            found[(table, str(index["name"]))] = (columns, bool(index["unique"]))
        for unique in inspector.get_unique_constraints(table):
            found[(table, str(unique["name"]))] = (tuple(unique["column_names"]), True)
    return found


async def named_indexes(url: str) -> dict[tuple[str, str], tuple[tuple[str, ...], bool]]:
    driver = sql_driver(driver_class_for(url).from_url(url))
    return await run_reflected(driver, _named)


def descriptions(diff: Any) -> list[str]:
    return sorted(change.description for change in diff.changes)


def rebuilt(diff: Any) -> str:
    """What the (one) SQLite table rebuild of ``diff`` does."""
    (rebuild,) = [c.description for c in diff.changes if c.kind == "rebuild_table"]
    return str(rebuild).split(" (", 1)[1][:-1]


async def test_schema_create_makes_them_with_their_names_and_leaves_no_diff(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(with_table_indexes())
    await orm.schema.create()
    found = await named_indexes(db_url)
    for key, shape in WANTED_INDEXES.items():
        assert found.get(key) == shape, key
    assert (await Migrator(orm).diff()).is_empty


async def test_a_unique_constraint_over_a_relation_is_enforced(make_orm: MakeOrm) -> None:
    orm = await make_orm(with_table_indexes())
    await orm.schema.create()
    em = orm.em.fork()
    await em.execute(
        "INSERT INTO writer (id, first_name, last_name, email) VALUES (1, 'A', 'B', 'a@b')"
    )
    insert = "INSERT INTO novel (id, title, year, writer_id) VALUES ({}, 'Dune', {}, 1)"
    await em.execute(insert.format(1, 1965))
    with pytest.raises(UniqueConstraintViolation):
        await em.execute(insert.format(2, 1966))  # the same writer and title


async def test_initial_migration_up_down_up_gives_the_same_schema(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(with_table_indexes())
    migrator = Migrator(orm)
    created = await migrator.create("initial")
    assert created is not None
    lint(created.path)
    await migrator.up()
    first = await snapshot(db_url, exclude=BOOKKEEPING)
    assert (await migrator.diff()).is_empty
    await migrator.down()
    assert await snapshot(db_url, exclude=BOOKKEEPING) == {}
    await migrator.up()
    assert await snapshot(db_url, exclude=BOOKKEEPING) == first
    found = await named_indexes(db_url)
    assert [key for key in WANTED_INDEXES if key not in found] == []


async def test_adding_them_makes_a_migration_whose_down_removes_them(
    make_orm: MakeOrm, db_url: str, database: str
) -> None:
    first = await make_orm(without_table_indexes())
    await first.schema.create()
    before = await snapshot(db_url)

    second = await make_orm(with_table_indexes())
    migrator = Migrator(second)
    diff = await migrator.diff()
    if database == "sqlite":
        # SQLite adds indexes with CREATE INDEX; a unique constraint needs a table rebuild.
        assert descriptions(diff) == [
            "add index ix_writer_last_name_first_name on writer",
            "add index ix_writer_mail on writer",
            "rebuild table novel (" + rebuilt(diff) + ")",
        ]
        assert sorted(rebuilt(diff).split("; ")) == [
            "add constraint uq_novel_by_writer on novel",
            "add constraint uq_novel_title_year on novel",
            "add index ix_novel_year_title on novel",
        ]
    else:
        assert descriptions(diff) == [
            "add constraint uq_novel_by_writer on novel",
            "add constraint uq_novel_title_year on novel",
            "add index ix_novel_year_title on novel",
            "add index ix_writer_last_name_first_name on writer",
            "add index ix_writer_mail on writer",
        ]
    assert diff.warnings == []

    created = await migrator.create("table indexes")
    assert created is not None
    lint(created.path)
    await migrator.up()
    assert (await migrator.diff()).is_empty
    after = await snapshot(db_url, exclude=BOOKKEEPING)
    found = await named_indexes(db_url)
    for key, shape in WANTED_INDEXES.items():
        assert found.get(key) == shape, key

    await migrator.down()
    assert await snapshot(db_url, exclude=BOOKKEEPING) == before
    assert (await Migrator(first).diff()).is_empty
    await migrator.up()
    assert await snapshot(db_url, exclude=BOOKKEEPING) == after


async def test_removing_them_makes_a_migration_whose_down_restores_them(
    make_orm: MakeOrm, db_url: str, database: str
) -> None:
    first = await make_orm(with_table_indexes())
    await first.schema.create()
    before = await snapshot(db_url)

    second = await make_orm(without_table_indexes())
    migrator = Migrator(second)
    diff = await migrator.diff()
    if database == "sqlite":
        assert descriptions(diff) == [
            "drop index ix_writer_last_name_first_name on writer",
            "drop index ix_writer_mail on writer",
            "rebuild table novel (" + rebuilt(diff) + ")",
        ]
        assert sorted(rebuilt(diff).split("; ")) == [
            "drop constraint uq_novel_by_writer on novel",
            "drop constraint uq_novel_title_year on novel",
            "drop index ix_novel_year_title on novel",
        ]
    else:
        assert sorted(d for d in descriptions(diff) if "writer" in d.split(" on ")[-1]) == [
            "drop index ix_writer_last_name_first_name on writer",
            "drop index ix_writer_mail on writer",
        ]
        on_novel = [d for d in descriptions(diff) if d.endswith(" on novel")]
        assert len(on_novel) == 3
        assert all(d.startswith(("drop constraint ", "drop index ")) for d in on_novel)
        assert {d.split()[2] for d in on_novel} == {
            "ix_novel_year_title",
            "uq_novel_by_writer",
            "uq_novel_title_year",
        }
    await migrator.create("no table indexes")
    await migrator.up()
    assert (await migrator.diff()).is_empty
    found = await named_indexes(db_url)
    assert not [key for key in WANTED_INDEXES if key in found]

    await migrator.down()
    assert await snapshot(db_url, exclude=BOOKKEEPING) == before
    assert (await Migrator(first).diff()).is_empty


async def test_an_index_on_a_foreign_key_inside_the_primary_key_is_compared(
    make_orm: MakeOrm, database: str
) -> None:
    orm = await make_orm(with_key_part_index())
    await orm.schema.create()
    assert (await Migrator(orm).diff()).is_empty
    if database == "mariadb":
        return  # the index serves the foreign key there: MariaDB refuses to drop it
    await orm.em.fork().execute("DROP INDEX ix_placement_volume_id")
    assert descriptions(await Migrator(orm).diff()) == [
        "add index ix_placement_volume_id on placement"
    ]
