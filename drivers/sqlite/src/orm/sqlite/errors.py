"""sqlite3 exceptions to ``orm.core.errors``, with the table, columns and constraint named."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from orm.core import errors

if TYPE_CHECKING:
    from orm.sqlite.driver import SqliteDriver


def _split_columns(detail: str) -> tuple[str | None, tuple[str, ...]]:
    """``"author.email, author.name"`` -> (``"author"``, (``"email"``, ``"name"``))."""
    table: str | None = None
    columns: list[str] = []
    for part in detail.split(","):
        qualified = part.strip()
        if "." in qualified:
            table, column = qualified.rsplit(".", 1)
            columns.append(column)
        elif qualified:
            columns.append(qualified)
    return table, tuple(columns)


def translate_sqlite_error(
    driver: SqliteDriver, exc: Exception, *, sql: str, table: str | None
) -> errors.DriverError:
    message = str(exc)
    if isinstance(exc, sqlite3.IntegrityError):
        if message.startswith("UNIQUE constraint failed:"):
            found, columns = _split_columns(message.split(":", 1)[1])
            name = driver.constraint_for_columns(found, columns)
            where = (
                f"{found}.({', '.join(columns)})" if len(columns) > 1 else f"{found}.{columns[0]}"
            )
            return errors.UniqueConstraintViolation(
                f"unique constraint {name or where} violated: table {found!r} already has a row "
                f"with the same value in {where}; use another value, or load and update the "
                f"existing row",
                table=found,
                constraint=name,
                columns=columns,
                sql=sql,
            )
        if message.startswith("NOT NULL constraint failed:"):
            found, columns = _split_columns(message.split(":", 1)[1])
            return errors.NotNullViolation(
                f"column {found}.{columns[0]} cannot be NULL; give the property a value (or make "
                f"it nullable with `| None`)",
                table=found,
                columns=columns,
                sql=sql,
            )
        if message.startswith("FOREIGN KEY constraint failed"):
            return errors.ForeignKeyViolation(
                f"foreign key constraint violated while writing table {table!r}: a row points to "
                f"a row that does not exist, or a deleted row is still referenced. Remove or "
                f"re-point the referencing rows first (or use Cascade.REMOVE / orphan_removal)",
                table=table,
                sql=sql,
            )
        if message.startswith("CHECK constraint failed:"):
            name = message.split(":", 1)[1].strip()
            return errors.CheckConstraintViolation(
                f"check constraint {name} of table {table!r} rejected a value; for an Enum "
                f"column, use one of the enum's members",
                table=table,
                constraint=name,
                sql=sql,
            )
    if isinstance(exc, sqlite3.OperationalError):
        if "database is locked" in message or "database table is locked" in message:
            return errors.LockWaitError(
                f"the SQLite database stayed locked by another connection past busy_timeout "
                f"({driver.busy_timeout:g} s); shorten write transactions or raise busy_timeout",
                table=table,
                sql=sql,
            )
        if message.startswith("no such table"):
            return errors.DriverError(
                f"{message}: the schema is missing; run `await orm.schema.create()` (or your "
                f"migrations) first",
                table=table,
                sql=sql,
            )
        if "syntax error" in message or message.startswith(("no such column", "near ")):
            return errors.SyntaxError(f"SQLite rejected the SQL: {message}", table=table, sql=sql)
        if "unable to open database" in message:
            return errors.ConnectionError(
                f"cannot open the SQLite database {driver.path!r}: {message}; check that the "
                f"folder exists and is writable",
                sql=sql,
            )
    return errors.DriverError(f"SQLite error: {message}", table=table, sql=sql)
