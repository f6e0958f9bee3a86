"""orm migrations from Python: create, run, change an entity, migrate again, revert.

Run it with:  uv run python examples/migrations.py
(a temporary SQLite file and migrations folder; set ORM_URL to use another database, e.g.
postgresql://postgres@127.0.0.1/orm_example). The same steps from the shell are
`orm migration:create`, `orm migration:up`, `orm migration:down`: see docs/cli.md.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

from orm.core import ORM, Config, Index, PrimaryKey, Property, entity
from orm.migrations import Migrator, Progress


def first_version() -> list[type[Any]]:
    @entity
    class Author:
        id: int = PrimaryKey()
        name: str = Property(length=100)
        age: int | None = None

    return [Author]


def second_version() -> list[type[Any]]:
    @entity(indexes=[Index("name", "email")])  # a multi-column index
    class Author:
        id: int = PrimaryKey()
        name: str = Property(length=100)
        email: str | None = Property(unique=True, default=None)

    return [Author]


def show(label: str, text: str) -> None:
    print(f"--- {label}\n{text.rstrip()}\n")


async def migrate(url: str, folder: Path, entities: list[type[Any]], name: str) -> ORM:
    orm = await ORM.init(Config(url=url, entities=entities, migrations_path=str(folder)))
    migrator = Migrator(orm, progress=Progress(notice=print))
    diff = await migrator.diff()
    print(f"{name}: {len(diff.changes)} change(s): {[c.description for c in diff.changes]}")
    for warning in diff.warnings:
        print(f"  data loss: {warning}")
    created = await migrator.create(name)
    if created is not None:
        show(created.path.name, created.path.read_text())
    result = await migrator.up()
    print(f"executed: {result.names}")
    print(f"in sync: {(await migrator.diff()).is_empty}\n")
    return orm


async def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        url = os.environ.get("ORM_URL", f"sqlite:///{workdir}/example.db")
        folder = Path(workdir) / "migrations"
        orm = await migrate(url, folder, first_version(), "create authors")
        await orm.close()

        orm = await migrate(url, folder, second_version(), "author email")
        migrator = Migrator(orm)
        for status in await migrator.status():
            print(f"{status.name}: executed at {status.executed_at}")
        reverted = await migrator.down(to="0")
        print(f"reverted: {reverted.names}")
        await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
