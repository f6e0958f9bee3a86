"""What the existing rows get when a migration adds a NOT NULL column.

A new NOT NULL column needs a value in every row the table already has. When its property has
a plain Python default (``count: int = 0``, ``status: Status = Status.DRAFT``), that value is
rendered as a SQL literal and the column is added with it as a temporary server ``DEFAULT``,
dropped again right after (PostgreSQL, MySQL/MariaDB), or selected into the rebuilt table
(SQLite): the rows are filled and the schema still matches the entities. Without a value that
can be written as SQL, the migration can only run on an empty table; the reason says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from orm.core import ORM
from orm.core.metadata.model import ColumnInfo, PropertyMetadata
from orm.query_builder import SqlDriver

# What to do about a NOT NULL column that the rows already there cannot get a value for.
REMEDY = (
    "give the property a default (`Property(default=...)`, a plain value, not a "
    "default_factory) or a `server_default`, or make it nullable, then create the migration "
    "again; or write the migration by hand (`orm migration:create --blank`): add the column "
    "nullable, UPDATE the rows, then make it NOT NULL"
)


@dataclass(frozen=True)
class ColumnFill:
    """The SQL literal for the existing rows of a new NOT NULL column, or why there is none."""

    table: str
    column: str
    literal: str | None = None
    problem: str | None = None


def needs_fill(column: sa.Column[Any]) -> bool:
    """A column that rows already in the table cannot leave empty."""
    return not column.nullable and column.server_default is None and not column.primary_key


def _property_of(orm: ORM, table: str, column: str) -> tuple[PropertyMetadata, ColumnInfo] | None:
    for meta in orm.metadata.values():
        if meta.table != table:
            continue
        for prop in meta.properties.values():
            for info in prop.columns if prop.is_persistent else []:
                if info.name == column:
                    return prop, info
    return None


def column_fill(orm: ORM, driver: SqlDriver, table: str, column: sa.Column[Any]) -> ColumnFill:
    """How to fill ``table.column`` (a new NOT NULL column without server default)."""
    name = str(column.name)
    found = _property_of(orm, table, name)
    what = f"{table}.{name}"
    if found is None:
        return ColumnFill(table, name, problem=f"column {what} is NOT NULL and has no default")
    prop, info = found
    owner = f"{prop.entity.class_name}.{prop.name}"
    if prop.default_factory is not None:
        return ColumnFill(
            table,
            name,
            problem=f"{owner} (column {what}) is NOT NULL and its default is a default_factory, "
            f"which is called for each new entity in Python and cannot be written as one SQL "
            f"value for the existing rows",
        )
    if not prop.has_default or prop.default is None:
        return ColumnFill(
            table, name, problem=f"{owner} (column {what}) is NOT NULL and has no default"
        )
    try:
        # Typed by the converted value (what the driver would bind), which may differ from the
        # column's type: SQLite stores a date as text.
        value = driver.values.to_db(info, prop.default)
        literal = sa.literal(value).compile(
            dialect=driver.dialect, compile_kwargs={"literal_binds": True}
        )
        text = str(literal)
    except Exception as exc:  # a type without a literal form on this dialect
        return ColumnFill(
            table,
            name,
            problem=f"{owner} (column {what}) is NOT NULL and its default {prop.default!r} "
            f"cannot be written as a SQL literal on {driver.platform.name} ({exc})",
        )
    return ColumnFill(table, name, literal=text)


def has_rows(connection: sa.Connection, table: str) -> bool:
    query = sa.select(sa.literal(1)).select_from(sa.table(table)).limit(1)
    return connection.execute(query).first() is not None
