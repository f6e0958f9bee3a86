"""Read replicas: where reads and writes go, replication lag, read-your-writes, read-only forks.

Runs on two SQLite files, one the primary and one a "replica" that this script refreshes by
hand (SQLite's backup API stands in for streaming replication), so the lag can be seen.
On PostgreSQL or MySQL/MariaDB the replica URLs name real replicas and nothing else changes:
see docs/scaling.md#read-replicas.

    uv run python examples/read_replicas.py
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path
from typing import Literal

from orm.core import ORM, EntityManager, PrimaryKey, ReadOnlyError, entity


@entity
class Article:
    id: int = PrimaryKey()
    title: str


def replicate(primary: Path, replica: Path) -> None:
    """Copy the primary into the replica, as a streaming replica eventually would."""
    source, target = sqlite3.connect(primary), sqlite3.connect(replica)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


async def titles(
    em: EntityManager, connection: Literal["read", "write"] | None = None
) -> list[str]:
    found = await em.find(Article, order_by={"id": "asc"}, connection=connection)
    return [article.title for article in found]


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        primary, replica = Path(folder) / "primary.db", Path(folder) / "replica.db"
        setup = await ORM.init(url=f"sqlite:///{primary}", entities=[Article])
        await setup.schema.create()
        await setup.close()
        replicate(primary, replica)

        orm = await ORM.init(
            url=f"sqlite:///{primary}", entities=[Article], replicas=[f"sqlite:///{replica}"]
        )
        writer = orm.em.fork()
        writer.persist(Article(title="Hello, replicas"))
        await writer.flush()  # writes go to the primary

        print("a new fork reads the replica, which lags:", await titles(orm.em.fork()))
        print("the fork that wrote reads the primary: ", await titles(writer))
        print("a read can ask for the primary:        ", await titles(orm.em.fork(), "write"))
        replicate(primary, replica)
        print("once replicated, the replica has it:   ", await titles(orm.em.fork()))

        reader = orm.em.fork(read_only=True)
        try:
            reader.persist(Article(title="refused"))
        except ReadOnlyError as exc:
            print("a read-only fork refuses writes:       ", str(exc).split(" (")[0])
        for replica_status in orm.replicas.status():
            print("replica", replica_status.name, "up" if replica_status.up else "down")
        await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
