"""asyncpg exceptions to ``orm.core.errors``, with the table, constraint and columns named.

PostgreSQL reports the table, constraint and column of most errors in separate fields
(asyncpg exposes them as ``table_name``, ``constraint_name``, ``column_name``, ``detail``);
the unique-constraint columns come from our own ``Table`` objects, or from the detail text.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

import asyncpg
import sqlalchemy as sa

from orm.core import errors
from orm.core.urls import remove_secrets

if TYPE_CHECKING:
    from orm.postgres.driver import PostgresDriver

_KEY_COLUMNS = re.compile(r"Key \((?P<columns>.+?)\)=")
_REFERENCED_FROM = re.compile(r'still referenced from table "(?P<table>[^"]+)"')
_NOT_PRESENT_IN = re.compile(r'is not present in table "(?P<table>[^"]+)"')

# asyncpg exceptions meaning "this connection is gone or was never made".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InternalClientError,  # the protocol state broke (e.g. the server hung up while idle)
    asyncpg.AdminShutdownError,  # pg_terminate_backend, server shutdown
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InvalidCatalogNameError,  # the database does not exist
    asyncpg.InvalidAuthorizationSpecificationError,  # unknown role, bad password
    ConnectionError,  # the builtin: refused, reset, aborted
    OSError,
)


_CLOSED_MARKERS = ("connection is closed", "released back to the pool", "pool is closing")


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection is gone (as opposed to a bad statement)."""
    if isinstance(exc, asyncpg.InterfaceError):
        return any(marker in str(exc) for marker in _CLOSED_MARKERS)
    return isinstance(exc, CONNECTION_ERRORS)


def _field(exc: BaseException, name: str) -> str | None:
    value = getattr(exc, name, None)
    return str(value) if value else None


def _detail(exc: BaseException) -> str:
    detail = _field(exc, "detail")
    return f" ({detail})" if detail else ""


def _constraint_columns(
    driver: PostgresDriver, table: str | None, constraint: str | None, detail: str | None
) -> tuple[str, ...]:
    sa_table = driver.tables.get(table or "")
    if sa_table is not None and constraint:
        for item in sa_table.constraints:
            if item.name == constraint and isinstance(
                item, (sa.UniqueConstraint, sa.PrimaryKeyConstraint, sa.ForeignKeyConstraint)
            ):
                return tuple(c.name for c in item.columns)
    match = _KEY_COLUMNS.search(detail or "")
    if match:
        return tuple(part.strip().strip('"') for part in match.group("columns").split(","))
    return ()


def _referenced_table(
    driver: PostgresDriver, child: str | None, constraint: str | None
) -> str | None:
    """The table that foreign key ``constraint`` of table ``child`` points to, if known."""
    sa_table = driver.tables.get(child or "")
    if sa_table is None:
        return None
    for item in sa_table.foreign_key_constraints:
        if item.name == constraint:
            return str(item.referred_table.name)
    return None


def translate_postgres_error(
    driver: PostgresDriver, exc: BaseException, *, sql: str, table: str | None
) -> errors.DriverError:
    """The ``orm.core`` error for an asyncpg (or socket) exception; never raises."""
    if isinstance(exc, errors.DriverError):
        return exc
    found_table = _field(exc, "table_name") or table
    constraint = _field(exc, "constraint_name")
    detail = _field(exc, "detail")
    # asyncpg may echo what it was given: never let the password into a message.
    message = remove_secrets(str(exc), driver.url.password)
    common: dict[str, Any] = {"table": found_table, "constraint": constraint, "sql": sql}

    if isinstance(exc, asyncpg.UniqueViolationError):
        columns = _constraint_columns(driver, found_table, constraint, detail)
        where = f"{found_table}.({', '.join(columns)})" if columns else repr(found_table)
        return errors.UniqueConstraintViolation(
            f"unique constraint {constraint!r} violated: table {found_table!r} already has a row "
            f"with the same value in {where}{_detail(exc)}; use another value, or load and "
            f"update the existing row (or use em.upsert)",
            columns=columns,
            **common,
        )
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        # PostgreSQL reports the table that owns the constraint: the referencing (child) table.
        columns = _constraint_columns(driver, found_table, constraint, detail)
        referencing = _REFERENCED_FROM.search(detail or "")
        through = f" ({found_table}.{', '.join(columns)})" if columns else ""
        if referencing:
            child = referencing.group("table")
            parent = _referenced_table(driver, child, constraint) or table
            row = f"a row of {parent!r}" if parent else "a row"
            advice = (
                f"{row} is still referenced from table {child!r}{through}; remove or re-point "
                f"the rows of {child!r} first (or use Cascade.REMOVE, orphan_removal or "
                f"on_delete='cascade')"
            )
        else:
            target = _NOT_PRESENT_IN.search(detail or "")
            parent = target.group("table") if target else None
            parent = parent or _referenced_table(driver, found_table, constraint)
            missing = repr(parent) if parent else "the referenced table"
            advice = (
                f"a row of {found_table!r}{through} points to a row that does not exist in "
                f"{missing}; persist the referenced entity first or fix the reference"
            )
        return errors.ForeignKeyViolation(
            f"foreign key constraint {constraint!r} violated: {advice}{_detail(exc)}",
            columns=columns,
            **common,
        )
    if isinstance(exc, asyncpg.NotNullViolationError):
        column = _field(exc, "column_name")
        return errors.NotNullViolation(
            f"column {found_table}.{column} cannot be NULL; give the property a value (or make "
            f"it nullable with `| None`)",
            columns=(column,) if column else (),
            **common,
        )
    if isinstance(exc, asyncpg.CheckViolationError):
        return errors.CheckConstraintViolation(
            f"check constraint {constraint!r} of table {found_table!r} rejected a value"
            f"{_detail(exc)}; for an Enum column, use one of the enum's members",
            **common,
        )
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return errors.ConstraintViolation(
            f"constraint {constraint!r} of table {found_table!r} rejected the write: {message}"
            f"{_detail(exc)}",
            **common,
        )
    if isinstance(exc, asyncpg.LockNotAvailableError):
        return errors.LockWaitError(
            f"a row of {found_table or 'the table'!r} is locked by another transaction and the "
            f"lock could not be taken ({message}); retry later, drop lock_nowait to wait, or "
            f"use lock_skip_locked to skip locked rows",
            **common,
        )
    if isinstance(exc, asyncpg.DeadlockDetectedError):
        return errors.DeadlockError(
            f"deadlock detected: PostgreSQL rolled back this transaction{_detail(exc)}; retry "
            f"the whole transaction, and take row locks in a consistent order",
            **common,
        )
    if isinstance(exc, asyncpg.SerializationError):
        return errors.DeadlockError(
            f"could not serialize access due to a concurrent update ({message}); the "
            f"transaction was rolled back: retry the whole transaction (expected under "
            f"REPEATABLE READ and SERIALIZABLE isolation)",
            **common,
        )
    if isinstance(exc, asyncpg.UndefinedTableError):
        return errors.DriverError(
            f"{message}: the schema is missing; run `await orm.schema.create()` (or your "
            f"migrations) first",
            **common,
        )
    if isinstance(exc, asyncpg.UndefinedColumnError):
        return errors.SyntaxError(
            f"PostgreSQL rejected the SQL: {message}; if an entity gained a property, update "
            f"the schema (`await orm.schema.update()` or a migration)",
            **common,
        )
    if isinstance(exc, asyncpg.InvalidColumnReferenceError) and "ON CONFLICT" in message:
        return errors.DriverError(
            f"{message}: upsert needs a primary key or unique constraint on exactly the "
            f"conflict properties; declare Property(unique=True) or choose other properties",
            **common,
        )
    if isinstance(exc, (asyncpg.PostgresSyntaxError, asyncpg.SyntaxOrAccessError)):
        return errors.SyntaxError(f"PostgreSQL rejected the SQL: {message}", **common)
    if isinstance(exc, asyncpg.InFailedSQLTransactionError):
        return errors.DriverError(
            "the transaction was aborted by an earlier error and PostgreSQL ignores every "
            "statement until it is rolled back; let the error leave `async with "
            "em.transaction()` (or roll back to a savepoint) before running more statements",
            **common,
        )
    if isinstance(exc, asyncpg.StringDataRightTruncationError):
        return errors.DriverError(
            f"{message} in table {found_table!r}; shorten the value or raise the property's "
            f"length (Property(length=...)), or use column_type='text'",
            **common,
        )
    if isinstance(exc, asyncpg.QueryCanceledError):
        return errors.DriverError(
            f"the statement was cancelled ({message}); it ran past statement_timeout or was "
            f"cancelled by an administrator. Make it faster or raise the timeout",
            **common,
        )
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return errors.DriverError(
            f"the statement did not finish within command_timeout "
            f"({driver.options.command_timeout} s); make it faster or raise command_timeout",
            **common,
        )
    if isinstance(exc, asyncpg.DataError) and "invalid input for query argument" in message:
        return errors.DriverError(
            f"{message}; pass a Python value of the column's type (e.g. datetime.date, "
            f"Decimal, UUID rather than str)",
            **common,
        )
    if is_connection_error(exc):
        if isinstance(exc, asyncpg.InterfaceError) and "released back to the pool" in message:
            # asyncpg detaches a connection the server closed: say what really happened.
            message = "the server closed the connection (restart, pg_terminate_backend, timeout)"
        return errors.ConnectionError(
            f"the connection to PostgreSQL at {driver.url.describe()} broke: "
            f"{message or type(exc).__name__}. The pool replaces broken connections; retry the "
            f"operation (a transaction that was open on it was rolled back by the server)",
            **common,
        )
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or "?"
        return errors.DriverError(f"PostgreSQL error {state}: {message}{_detail(exc)}", **common)
    return errors.DriverError(f"PostgreSQL driver error: {type(exc).__name__}: {message}", **common)


def translate_connect_error(driver: PostgresDriver, exc: BaseException) -> errors.DriverError:
    """An error raised while opening a connection, with what to check."""
    where = driver.url.describe()
    message = remove_secrets(str(exc), driver.url.password) or type(exc).__name__
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        hint = (
            f"create it (`createdb {driver.url.database}` or CREATE DATABASE) or fix the "
            f"database name in the URL"
        )
    elif isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        hint = "check the user name and password in the URL and the server's pg_hba.conf"
    elif isinstance(exc, asyncpg.TooManyConnectionsError):
        hint = "lower pool_max_size, close idle clients, or raise the server's max_connections"
    elif isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        hint = (
            f"no answer within connect_timeout ({driver.options.connect_timeout:g} s); check "
            f"that the host is reachable (firewall, VPN) or raise connect_timeout"
        )
    elif driver.url.is_unix_socket:
        hint = "check that the server is running and that the socket directory is right"
    else:
        hint = (
            "check that the server is running, listens on that host and port "
            "(listen_addresses, port in postgresql.conf) and that the URL is right"
        )
    return errors.ConnectionError(
        f"cannot connect to PostgreSQL at {where}: {message}; {hint}", sql="connect"
    )
