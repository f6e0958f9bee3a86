"""The entity generator: Chinook loaded into each database, and orm's own schema round-tripped."""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from orm.core import ORM
from orm.core.orm import driver_class_for
from orm.migrations import Migrator
from orm.migrations.connection import sql_driver
from orm.migrations.generator import generate_entities, write_entities
from tests.migrations.chinook import load
from tests.migrations.conftest import MakeOrm
from tests.migrations.models import version_2

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
