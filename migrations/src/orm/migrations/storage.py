"""The bookkeeping table (``orm_migrations`` by default): one row per executed migration."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from orm.query_builder import SqlConnection, SqlDriver

DEFAULT_TABLE = "orm_migrations"


@dataclass(frozen=True)
class ExecutedMigration:
    name: str
    executed_at: dt.datetime | None


def bookkeeping_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("executed_at", sa.DateTime(), nullable=False),
    )


class MigrationTable:
    """Reads and writes the bookkeeping table of one database."""

    def __init__(self, driver: SqlDriver, name: str = DEFAULT_TABLE) -> None:
        self.driver = driver
        self.name = name
        self.table = bookkeeping_table(name)
        self._quoted = driver.dialect.identifier_preparer.quote(name)

    async def exists(self, connection: SqlConnection) -> bool:
        return self.name in await connection.existing_columns()

    async def ensure(self, connection: SqlConnection) -> None:
        if not await self.exists(connection):
            await connection.run_sql(self.driver.ddl(CreateTable(self.table)))

    async def executed(self, connection: SqlConnection) -> list[ExecutedMigration]:
        if not await self.exists(connection):
            return []
        result = await connection.execute(
            f"SELECT name, executed_at FROM {self._quoted} ORDER BY id"
        )
        return [
            ExecutedMigration(str(row["name"]), _timestamp(row["executed_at"]))
            for row in result.rows
        ]

    async def record(self, connection: SqlConnection, name: str) -> None:
        await connection.execute(
            f"INSERT INTO {self._quoted} (name, executed_at) VALUES (:name, CURRENT_TIMESTAMP)",
            {"name": name},
        )

    async def forget(self, connection: SqlConnection, name: str) -> None:
        await connection.execute(f"DELETE FROM {self._quoted} WHERE name = :name", {"name": name})


def _timestamp(value: Any) -> dt.datetime | None:
    """CURRENT_TIMESTAMP as each database returns it, as an aware UTC datetime."""
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
