"""sqlite3 exceptions to ``orm.core.errors``, with the table, columns and constraint named."""

from __future__ import annotations

import re
import sqlite3
from typing import TYPE_CHECKING

import sqlalchemy as sa

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


# The statement kind and target table of a write, for raw SQL (which carries no table name).
_WRITE = re.compile(
    r"^\s*(?P<kind>INSERT|REPLACE|UPDATE|DELETE)\b(?:\s+OR\s+\w+)?(?:\s+(?:INTO|FROM))?\s+"
    r"[\"`\[]?(?P<table>[^\s\"`\]()]+)",
    re.IGNORECASE,
)


def _described(constraint: sa.ForeignKeyConstraint) -> str:
    child = constraint.table.name
    columns = ", ".join(f"{child}.{column.name}" for column in constraint.columns)
    return f"{constraint.name or 'foreign key'} ({columns})"


def _foreign_key(
    driver: SqliteDriver, *, sql: str, table: str | None
) -> errors.ForeignKeyViolation:
    """SQLite says only "FOREIGN KEY constraint failed": name the candidates from the tables.

    A DELETE breaks a key that points *to* its table (a child row still references the row);
    an INSERT one that points *from* it (the parent row is missing); an UPDATE either.
    """
    found = _WRITE.match(sql)
    kind = found.group("kind").upper() if found else ""
    target = table or (found.group("table") if found else None)
    tables = driver.tables
    pointing_here = [
        fk
        for other in tables.values()
        for fk in other.foreign_key_constraints
        if fk.referred_table.name == target
    ]
    pointing_away = list(tables[target].foreign_key_constraints) if target in tables else []
    parts: list[str] = []
    if kind in ("DELETE", "UPDATE", "REPLACE") and pointing_here:
        children = " or ".join(
            f"{fk.table.name!r} through {_described(fk)}" for fk in pointing_here
        )
        parts.append(
            f"a row of {target!r} is still referenced from table {children}; remove or re-point "
            f"those rows first (or use Cascade.REMOVE, orphan_removal or on_delete='cascade')"
        )
    if kind in ("INSERT", "UPDATE", "REPLACE") and pointing_away:
        parents = " or ".join(
            f"{fk.referred_table.name!r} (through {_described(fk)})" for fk in pointing_away
        )
        parts.append(
            f"a row of {target!r} points to a row that does not exist in {parents}; persist "
            f"the referenced entity first or fix the reference"
        )
    if not parts:
        parts.append(
            f"writing table {target!r}: a row points to a row that does not exist, or a deleted "
            f"row is still referenced. Remove or re-point the referencing rows first (or use "
            f"Cascade.REMOVE / orphan_removal)"
        )
    candidates = pointing_here if kind == "DELETE" else pointing_away if kind == "INSERT" else []
    only = candidates[0] if len(candidates) == 1 else None
    return errors.ForeignKeyViolation(
        f"foreign key constraint violated: {'; or '.join(parts)}",
        table=only.table.name if only is not None else target,
        constraint=str(only.name) if only is not None and only.name else None,
        columns=tuple(c.name for c in only.columns) if only is not None else (),
        sql=sql,
    )


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
            return _foreign_key(driver, sql=sql, table=table)
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
