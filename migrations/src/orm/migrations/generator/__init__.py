"""The entity generator: reflect an existing database, write ``@entity`` modules.

``await generate_entities(driver)`` returns ``{file name: source}``: one module per table (pure
ManyToMany pivot tables become ``ManyToMany`` properties instead) and an ``__init__.py`` whose
``ENTITIES`` lists every class, ready for ``Config(entities=ENTITIES)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from orm.migrations.errors import MigrationError
from orm.migrations.generator.model import EntityBuilder
from orm.migrations.generator.reader import OnTable, read_tables
from orm.migrations.generator.source import render_package
from orm.migrations.reflection import run_reflected
from orm.query_builder import SqlDriver

__all__ = ["generate_entities", "write_entities"]


async def generate_entities(
    driver: SqlDriver,
    *,
    schema: str | None = None,
    tables: Sequence[str] | None = None,
    exclude: Sequence[str] = ("orm_migrations", "orm_migrations_lock"),
    on_table: OnTable | None = None,
) -> dict[str, str]:
    """The generated package as ``{file name: source}`` (the driver need not be connected).

    ``on_table(name, position, total)`` is called as each table has been read (progress).
    """

    def build(connection: sa.Connection) -> dict[str, str]:
        found = read_tables(connection, schema, tables, set(exclude), on_table)
        if not found:
            raise MigrationError(
                "the database has no tables to generate entities from"
                + (f" in schema {schema!r}" if schema else "")
            )
        entities = EntityBuilder(found, connection.dialect, driver.types).build()
        return render_package(entities)

    return await run_reflected(driver, build)


def write_entities(files: dict[str, str], folder: Path) -> list[Path]:
    """Write the generated files into ``folder`` (created if needed); existing files are kept."""
    existing = [folder / name for name in files if (folder / name).exists()]
    if existing:
        shown = ", ".join(str(p) for p in existing[:5])
        raise MigrationError(
            f"not overwriting existing file(s): {shown}; choose another --path or remove them"
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, source in files.items():
        path = folder / name
        path.write_text(source, encoding="utf-8")
        written.append(path)
    return written
