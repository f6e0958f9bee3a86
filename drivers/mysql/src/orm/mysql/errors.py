"""pymysql/aiomysql exceptions to ``orm.core.errors``, by MySQL error code.

Messages name the table, the constraint and its columns, and say what to do. Server error
codes are shared by MySQL and MariaDB except where noted.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

import pymysql
from sqlalchemy.schema import ColumnCollectionConstraint

from orm.core import errors
from orm.core.urls import remove_secrets

if TYPE_CHECKING:
    from orm.mysql.driver import MySqlDriver

DUP_ENTRY = 1062
ROW_IS_REFERENCED = (1451, 1217)
NO_REFERENCED_ROW = (1452, 1216)
BAD_NULL = 1048
NO_DEFAULT = 1364
CHECK_FAILED_MYSQL = 3819
CHECK_FAILED_MARIADB = 4025
LOCK_WAIT_TIMEOUT = 1205
LOCK_NOWAIT = 3572
DEADLOCK = 1213
# MariaDB with innodb_snapshot_isolation=ON: a row this transaction read was changed by a
# concurrent commit (its write conflict); the server rolls the whole transaction back.
RECORD_CHANGED = 1020
SYNTAX = (1064, 1149)
UNKNOWN_COLUMN = 1054
NO_SUCH_TABLE = 1146
UNKNOWN_DATABASE = 1049
ACCESS_DENIED = (1044, 1045, 1698)
DATA_TOO_LONG = 1406
OUT_OF_RANGE = 1264
BAD_VALUE = (1292, 1366, 1367, 3140)
CONNECTION_LOST = (2003, 2006, 2013, 2014, 2055, 1927, 1053, 4031)

_DUPLICATE = re.compile(r"Duplicate entry '(?P<value>.*)' for key '(?P<key>[^']+)'", re.S)
_FOREIGN = re.compile(
    r"\(`(?P<schema>[^`]*)`\.`(?P<table>[^`]+)`, CONSTRAINT `(?P<constraint>[^`]+)` "
    r"FOREIGN KEY \((?P<columns>[^)]*)\) REFERENCES `(?P<target>[^`]+)` "
    r"\((?P<target_columns>[^)]*)\)"
)
_QUOTED = re.compile(r"['`]([^'`]+)['`]")
_CHECK_MYSQL = re.compile(r"Check constraint '(?P<name>[^']+)' is violated")
_CHECK_MARIADB = re.compile(r"CONSTRAINT `(?P<name>[^`]+)` failed for `[^`]*`\.`(?P<table>[^`]+)`")
_MISSING_TABLE = re.compile(r"Table '(?:[^'.]+\.)?(?P<table>[^']+)' doesn't exist")


def _code_and_message(exc: BaseException) -> tuple[int | None, str]:
    args: tuple[Any, ...] = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        return args[0], str(args[1])
    return None, str(exc)


def _qualified(table: str | None, column: str) -> str:
    return f"{table}.{column}" if table else repr(column)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip().strip("`") for name in text.split(",") if name.strip())


def unique_key_columns(driver: MySqlDriver, table: str | None, key: str) -> tuple[str, ...]:
    """The columns of unique key ``key`` of ``table`` (``PRIMARY`` is the primary key)."""
    sa_table = driver.tables.get(table or "")
    if sa_table is None:
        return ()
    if key == "PRIMARY":
        return tuple(c.name for c in sa_table.primary_key.columns)
    preparer = driver.dialect.identifier_preparer

    def named(item: Any) -> bool:
        # Names longer than 64 characters are truncated (with a hash) when rendered.
        rendered = str(preparer.format_constraint(item) or "").strip("`")
        return key in (item.name, rendered)

    for constraint in sa_table.constraints:
        if isinstance(constraint, ColumnCollectionConstraint) and named(constraint):
            return tuple(c.name for c in constraint.columns)
    for index in sa_table.indexes:
        if index.unique and named(index):
            return tuple(str(getattr(c, "name", c)) for c in index.expressions)
    return ()


def translate_mysql_error(
    driver: MySqlDriver, exc: BaseException, *, sql: str, table: str | None
) -> errors.DriverError:
    if isinstance(exc, errors.DriverError):
        return exc
    code, message = _code_and_message(exc)
    # The client may echo what it was given: never let the password into a message.
    message = remove_secrets(message, driver.url.password)
    if code == DUP_ENTRY:
        return _duplicate(driver, message, sql=sql, table=table)
    if code in ROW_IS_REFERENCED or code in NO_REFERENCED_ROW:
        return _foreign_key(code, message, sql=sql, table=table)
    if code in (BAD_NULL, NO_DEFAULT):
        found = _QUOTED.search(message)
        column = found.group(1) if found else "?"
        return errors.NotNullViolation(
            f"column {_qualified(table, column)} cannot be NULL; give the property a value (or "
            f"make it nullable with `| None`). The server said: {message}",
            table=table,
            columns=(column,) if found else (),
            sql=sql,
        )
    if code in (CHECK_FAILED_MYSQL, CHECK_FAILED_MARIADB):
        found = _CHECK_MYSQL.search(message) or _CHECK_MARIADB.search(message)
        name = found.group("name") if found else None
        owner = found.groupdict().get("table") if found else None
        return errors.CheckConstraintViolation(
            f"check constraint {name or '?'} of table {owner or table!r} rejected a value; for "
            f"an Enum column use one of the enum's members, for JSON a valid document",
            table=owner or table,
            constraint=name,
            sql=sql,
        )
    if code in (LOCK_WAIT_TIMEOUT, LOCK_NOWAIT):
        return errors.LockWaitError(
            f"a row lock on {table or 'the table'} could not be taken: another transaction holds "
            f"it ({message}). Retry, shorten the other transaction, or use lock_skip_locked",
            table=table,
            sql=sql,
        )
    if code == DEADLOCK:
        return errors.DeadlockError(
            f"deadlock: the server rolled back this transaction (on {table or 'a table'}); "
            f"retry the whole transaction",
            table=table,
            sql=sql,
        )
    if code == RECORD_CHANGED:
        return errors.DeadlockError(
            f"a row of {table or 'a table'} changed since this transaction read it (a concurrent "
            f"transaction committed it first: {message}); the server rolled back this "
            f"transaction: retry the whole transaction",
            table=table,
            sql=sql,
        )
    if code == NO_SUCH_TABLE:
        found = _MISSING_TABLE.search(message)
        missing = found.group("table") if found else table
        return errors.DriverError(
            f"table {missing!r} does not exist: the schema is missing; run "
            f"`await orm.schema.create()` (or your migrations) first",
            table=missing,
            sql=sql,
        )
    if code in SYNTAX or code == UNKNOWN_COLUMN:
        return errors.SyntaxError(f"the server rejected the SQL: {message}", table=table, sql=sql)
    if code == DATA_TOO_LONG:
        found = _QUOTED.search(message)
        column = found.group(1) if found else "?"
        return errors.DriverError(
            f"the value for {_qualified(table, column)} is longer than the column allows; "
            f"shorten it or raise Property(length=...) (and migrate the column)",
            table=table,
            columns=(column,) if found else (),
            sql=sql,
        )
    if code == OUT_OF_RANGE or code in BAD_VALUE:
        return errors.DriverError(
            f"the server rejected a value for table {table!r}: {message}; check the value "
            f"against the column type",
            table=table,
            sql=sql,
        )
    if code == UNKNOWN_DATABASE:
        return errors.ConnectionError(
            f"the database does not exist on {driver.url.describe()}: create it with "
            f"CREATE DATABASE `{driver.url.database}` CHARACTER SET utf8mb4 ({message})",
            sql=sql,
        )
    if code in ACCESS_DENIED:
        return errors.ConnectionError(
            f"the server at {driver.url.describe()} refused the login: {message}; check the "
            f"user, password and grants in the URL",
            sql=sql,
        )
    if code in CONNECTION_LOST or isinstance(
        exc, (pymysql.err.InterfaceError, OSError, asyncio.TimeoutError)
    ):
        return errors.ConnectionError(
            f"cannot reach the MySQL/MariaDB server at {driver.url.describe()}, or the "
            f"connection broke: {message}. Check that the server runs and accepts connections; "
            f"the pool replaces broken connections, so retry the operation (a transaction that "
            f"was open on it was rolled back by the server)",
            table=table,
            sql=sql,
        )
    detail = f"error {code}: {message}" if code is not None else message
    return errors.DriverError(f"MySQL/MariaDB {detail}", table=table, sql=sql)


def _duplicate(
    driver: MySqlDriver, message: str, *, sql: str, table: str | None
) -> errors.UniqueConstraintViolation:
    found = _DUPLICATE.search(message)
    key = found.group("key") if found else None
    value = found.group("value") if found else None
    owner = table
    if key is not None and "." in key and key.split(".", 1)[0] in driver.tables:
        owner, key = key.split(".", 1)  # MySQL 8.0.19+: 'table.key'
    columns = unique_key_columns(driver, owner, key) if key else ()
    constraint = key
    if key == "PRIMARY" and owner in driver.tables:
        constraint = str(driver.tables[owner].primary_key.name or "PRIMARY")
    where = (
        f"{owner}.({', '.join(columns)})"
        if len(columns) > 1
        else f"{owner}.{columns[0]}"
        if columns
        else f"table {owner!r}"
    )
    return errors.UniqueConstraintViolation(
        f"unique constraint {constraint or '?'} violated: {where} already has a row with the "
        f"value {value!r}; use another value, or load and update the existing row",
        table=owner,
        constraint=constraint,
        columns=columns,
        sql=sql,
    )


def _foreign_key(
    code: int, message: str, *, sql: str, table: str | None
) -> errors.ForeignKeyViolation:
    found = _FOREIGN.search(message)
    if found is None:
        return errors.ForeignKeyViolation(
            f"foreign key constraint violated while writing table {table!r}: {message}. A row "
            f"points to a row that does not exist, or a deleted row is still referenced",
            table=table,
            sql=sql,
        )
    child, constraint = found.group("table"), found.group("constraint")
    columns, target = _names(found.group("columns")), found.group("target")
    listed = ", ".join(columns)
    if code in ROW_IS_REFERENCED:
        text = (
            f"cannot delete or change a row of {target!r}: rows of {child!r} still reference it "
            f"through {constraint} ({child}.{listed}); delete or re-point those rows first, or "
            f"use Cascade.REMOVE / orphan_removal / on_delete='cascade'"
        )
    else:
        text = (
            f"foreign key {constraint} violated: {child}.{listed} points to a row of "
            f"{target!r} that does not exist; insert that row first or fix the reference"
        )
    return errors.ForeignKeyViolation(
        text, table=child, constraint=constraint, columns=columns, sql=sql
    )
