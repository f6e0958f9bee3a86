"""The entity generator: Chinook loaded into each database, and orm's own schema round-tripped."""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from orm.core import ORM
from orm.core.orm import driver_class_for
from orm.migrations import Migrator
from orm.migrations.connection import sql_connection, sql_driver
from orm.migrations.generator import generate_entities, write_entities
from tests.compliance.conftest import configured_databases
from tests.migrations.chinook import load
from tests.migrations.conftest import MakeOrm
from tests.migrations.models import version_2, with_key_part_index, with_table_indexes

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")

ROOT = Path(__file__).resolve().parents[2]


def ruff(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *arguments, "--config", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=False,
    )


async def generate_package(url: str, folder: Path) -> ModuleType:
    files = await generate_entities(sql_driver(driver_class_for(url).from_url(url)))
    name = f"generated_{uuid.uuid4().hex[:8]}"
    write_entities(files, folder / name)
    checked = ruff("check", str(folder / name))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = ruff("format", "--check", str(folder / name))
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


async def test_chinook_entities_match_the_database_and_load_the_same_data(
    database: str, db_url: str, tmp_path: Path
) -> None:
    await load(database, db_url)
    package = await generate_package(db_url, tmp_path)
    # What the generator writes type-checks as an application's own code (mypy --strict).
    checked = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        package.__name__,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await checked.communicate()
    assert checked.returncode == 0, output.decode()
    source = (Path(package.__file__).parent / "invoice.py").read_text()
    assert "customer: Customer = ManyToOne(" in source
    assert "invoice_lines: Collection[InvoiceLine] = OneToMany(" in source
    assert (
        'ManyToOne("Playlist"' in (Path(package.__file__).parent / "playlist_track.py").read_text()
    )

    orm = await ORM.init(url=db_url, entities=package.ENTITIES)
    try:
        diff = await Migrator(orm).diff()
        assert [c.description for c in diff.changes] == []

        em = orm.em.fork()
        invoices = await em.find(
            package.Invoice,
            {"total": {"$gt": 15}},
            populate=["customer", "invoice_lines"],
            order_by={"invoice_id": "asc"},
        )
        loaded = sorted(
            (
                invoice.invoice_id,
                _money(invoice.total),
                invoice.customer.first_name,
                invoice.customer.last_name,
                line.invoice_line_id,
                line.track.track_id,
                _money(line.unit_price),
                line.quantity,
            )
            for invoice in invoices
            for line in invoice.invoice_lines
        )
        rows = await em.execute(join_sql(orm))
        joined = sorted(
            (row[0], _money(row[1]), row[2], row[3], row[4], row[5], _money(row[6]), row[7])
            for row in (tuple(r.values()) for r in rows.rows)
        )
        assert len(invoices) > 5 and len(loaded) > 20
        assert loaded == joined
    finally:
        await orm.close()


def join_sql(orm: ORM) -> str:
    """Invoices over 15 with their customer and lines, as plain SQL (names from metadata)."""
    quote = sql_driver(orm.driver).dialect.identifier_preparer.quote
    meta = {m.class_name: m for m in orm.metadata.values()}

    def column(entity: str, prop: str) -> str:
        return quote(meta[entity].properties[prop].columns[0].name)

    invoice, customer, line = (quote(meta[n].table) for n in ("Invoice", "Customer", "InvoiceLine"))
    return (
        f"SELECT i.{column('Invoice', 'invoice_id')}, i.{column('Invoice', 'total')}, "
        f"c.{column('Customer', 'first_name')}, c.{column('Customer', 'last_name')}, "
        f"l.{column('InvoiceLine', 'invoice_line_id')}, l.{column('InvoiceLine', 'track')}, "
        f"l.{column('InvoiceLine', 'unit_price')}, l.{column('InvoiceLine', 'quantity')} "
        f"FROM {invoice} i "
        f"JOIN {customer} c ON c.{column('Customer', 'customer_id')} = "
        f"i.{column('Invoice', 'customer')} "
        f"JOIN {line} l ON l.{column('InvoiceLine', 'invoice')} = "
        f"i.{column('Invoice', 'invoice_id')} "
        f"WHERE i.{column('Invoice', 'total')} > 15"
    )


async def test_orm_schema_round_trips_with_a_many_to_many_pivot(
    make_orm: MakeOrm, db_url: str, tmp_path: Path
) -> None:
    orm = await make_orm(version_2())
    await orm.schema.create()
    package = await generate_package(db_url, tmp_path)
    folder = Path(package.__file__).parent
    assert not (folder / "book_tags.py").exists()  # the pivot table is a ManyToMany
    book = (folder / "book.py").read_text()
    assert 'tags: Collection[Tag] = ManyToMany("Tag", inversed_by="books")' in book
    assert 'author: Author = ManyToOne("Author", on_delete="cascade")' in book
    author = (folder / "author.py").read_text()
    assert "email: str = Property(unique=True)" in author
    assert "nickname: str | None = Property(length=30, index=True, default=None)" in author
    assert "server_default=" in author

    generated = await ORM.init(url=db_url, entities=package.ENTITIES)
    try:
        assert [c.description for c in (await Migrator(generated).diff()).changes] == []
    finally:
        await generated.close()


COMPOSITE_SCHEMA = [
    "CREATE TABLE shelf (id INTEGER NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL)",
    "CREATE TABLE item ("
    " id INTEGER NOT NULL PRIMARY KEY,"
    " shelf_id INTEGER NOT NULL,"
    " code VARCHAR(20) NOT NULL,"
    " row_no INTEGER NOT NULL,"
    " col_no INTEGER NOT NULL,"
    " CONSTRAINT fk_item_shelf_id FOREIGN KEY (shelf_id) REFERENCES shelf (id),"
    " CONSTRAINT uq_item_shelf_id_code UNIQUE (shelf_id, code),"
    " CONSTRAINT item_place_key UNIQUE (shelf_id, row_no, col_no))",
    "CREATE INDEX ix_item_row_no_col_no ON item (row_no, col_no)",
    "CREATE INDEX item_code_row ON item (code, row_no)",
]


async def test_composite_indexes_and_unique_constraints_become_entity_declarations(
    db_url: str, tmp_path: Path
) -> None:
    driver = sql_driver(driver_class_for(db_url).from_url(db_url))
    await driver.connect([])
    try:
        async with sql_connection(driver) as connection:
            for statement in COMPOSITE_SCHEMA:
                await connection.run_sql(statement)
    finally:
        await driver.close()
    package = await generate_package(db_url, tmp_path)
    item = (Path(package.__file__).parent / "item.py").read_text()
    assert "# Note:" not in item
    assert "from orm.core import Index, ManyToOne, PrimaryKey, Property, Unique, entity" in item
    # Names only where they differ from the naming strategy's; in the order of the columns.
    assert (
        "@entity(\n"
        '    indexes=[Index("code", "row_no", name="item_code_row"), Index("row_no", "col_no")],\n'
        '    uniques=[Unique("shelf", "code"), '
        'Unique("shelf", "row_no", "col_no", name="item_place_key")],\n'
        ")\n"
        "class Item:"
    ) in item
    # The composite unique constraints index the foreign key: no index of its own.
    assert 'shelf: Shelf = ManyToOne("Shelf", index=False)' in item

    generated = await ORM.init(url=db_url, entities=package.ENTITIES)
    try:
        assert [c.description for c in (await Migrator(generated).diff()).changes] == []
        meta = next(m for m in generated.metadata.values() if m.class_name == "Item")
        assert [(u.name, u.columns) for u in meta.uniques] == [
            ("uq_item_shelf_id_code", ("shelf_id", "code")),
            ("item_place_key", ("shelf_id", "row_no", "col_no")),
        ]
    finally:
        await generated.close()


async def test_orm_schema_with_table_indexes_round_trips(
    make_orm: MakeOrm, db_url: str, tmp_path: Path
) -> None:
    orm = await make_orm(with_table_indexes())
    await orm.schema.create()
    package = await generate_package(db_url, tmp_path)
    folder = Path(package.__file__).parent
    writer, novel = (folder / "writer.py").read_text(), (folder / "novel.py").read_text()
    assert '@entity(indexes=[Index("last_name", "first_name")])' in writer
    assert "email: str = Property(length=100, index=True)" in writer  # one column: a property
    assert (
        '    indexes=[Index("year", "title")],\n'
        '    uniques=[Unique("title", "year"), '
        'Unique("writer", "title", name="uq_novel_by_writer")],'
    ) in novel

    generated = await ORM.init(url=db_url, entities=package.ENTITIES)
    try:
        assert [c.description for c in (await Migrator(generated).diff()).changes] == []
    finally:
        await generated.close()


async def test_an_index_on_a_foreign_key_inside_the_primary_key_round_trips(
    make_orm: MakeOrm, db_url: str, tmp_path: Path
) -> None:
    for declared in (True, False):
        orm = await make_orm(with_key_part_index(declared))
        await orm.schema.create()
        package = await generate_package(db_url, tmp_path)
        placement = (Path(package.__file__).parent / "placement.py").read_text()
        # Without a declaration, the index MySQL/MariaDB add for the foreign key is left out.
        assert ('@entity(indexes=[Index("volume")])' in placement) is declared
        assert ("Index" in placement) is declared
        generated = await ORM.init(url=db_url, entities=package.ENTITIES)
        try:
            assert [c.description for c in (await Migrator(generated).diff()).changes] == []
        finally:
            await generated.close()
        await orm.schema.drop()


# PostgreSQL only: SQLite's reflection does not report expression indexes; MariaDB has none.
@pytest.mark.parametrize(
    "database", [d for d in configured_databases() if d == "postgres"], indirect=True
)
async def test_an_index_over_expressions_is_left_as_a_note(
    database: str, db_url: str, tmp_path: Path
) -> None:
    driver = sql_driver(driver_class_for(db_url).from_url(db_url))
    await driver.connect([])
    try:
        async with sql_connection(driver) as connection:
            await connection.run_sql(
                "CREATE TABLE person (id INTEGER PRIMARY KEY, email VARCHAR(40) NOT NULL)"
            )
            await connection.run_sql(
                "CREATE INDEX ix_person_lower_email_for_case_insensitive_lookups "
                "ON person (lower(email), id)"
            )
    finally:
        await driver.close()
    package = await generate_package(db_url, tmp_path)  # ruff passes: the note is wrapped
    person = (Path(package.__file__).parent / "person.py").read_text()
    assert (
        "# Note: index ix_person_lower_email_for_case_insensitive_lookups over expressions cannot "
        "be declared\n#   on an entity; keep it in a migration\n@entity\n"
    ) in person
    generated = await ORM.init(url=db_url, entities=package.ENTITIES)
    try:
        assert [c.description for c in (await Migrator(generated).diff()).changes] == []
    finally:
        await generated.close()
