"""Running a list of statements on one connection, in a transaction where DDL is transactional.

On SQLite, foreign-key enforcement is switched off around the transaction (a table rebuild
drops and re-creates a referenced table, which would otherwise fire ``ON DELETE`` actions) and
``PRAGMA foreign_key_check`` verifies every reference before the commit.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from orm.core import ORM
from orm.core.errors import DriverError, ForeignKeyViolation
from orm.migrations.connection import family, for_run_sql
from orm.migrations.migration import Statement, StepContext
from orm.query_builder import SqlConnection, SqlDriver
from orm.query_builder.schema import run_in_transaction


class StatementError(Exception):
    """Internal: statement ``index`` (0-based) failed with ``error``."""

    def __init__(self, index: int, statement: Statement, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.statement = statement
        self.error = error


class BookkeepingError(Exception):
    """Internal: every statement succeeded, then ``finish()`` (the bookkeeping) failed."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


async def run_statements(
    orm: ORM,
    driver: SqlDriver,
    connection: SqlConnection,
    statements: Sequence[Statement],
    *,
    transactional: bool,
    finish: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run ``statements`` then ``finish()`` (bookkeeping), atomically where possible.

    Raises :class:`StatementError` for a failing statement and :class:`BookkeepingError` when
    ``finish()`` fails; everything is rolled back when the run was transactional.
    """
    sqlite = family(driver) == "sqlite"

    async def run_all() -> None:
        for index, statement in enumerate(statements):
            try:
                await _run_one(orm, connection, statement, own_transaction=not transactional)
            except Exception as exc:
                raise StatementError(index, statement, exc) from exc
        if sqlite:
            await _check_foreign_keys(connection)
        if finish is not None:
            try:
                await finish()
            except Exception as exc:
                raise BookkeepingError(exc) from exc

    if sqlite:
        await connection.run_sql("PRAGMA foreign_keys = OFF")
    try:
        await run_in_transaction(connection, run_all, transactional=transactional)
    except BaseException as exc:
        if sqlite:  # the run's error is what matters: a failing PRAGMA becomes a note on it
            try:
                await connection.run_sql("PRAGMA foreign_keys = ON")
            except Exception as pragma_error:
                exc.add_note(f"switching foreign keys back on also failed: {pragma_error}")
        raise
    if sqlite:
        await connection.run_sql("PRAGMA foreign_keys = ON")


async def _run_one(
    orm: ORM, connection: SqlConnection, statement: Statement, *, own_transaction: bool
) -> None:
    if statement.sql is not None:
        await connection.run_sql(for_run_sql(connection.driver, statement.sql))
        return
    assert statement.step is not None
    if not own_transaction:
        await statement.step(StepContext(orm, connection))
        return
    # Outside a migration transaction (MySQL DDL), a data step is still atomic on its own.
    step = statement.step
    await run_in_transaction(connection, lambda: step(StepContext(orm, connection)))


async def _check_foreign_keys(connection: SqlConnection) -> None:
    result = await connection.execute("PRAGMA foreign_key_check")
    if result.rows:
        row = result.rows[0]
        values = list(row.values())
        table, parent = values[0], values[2]
        raise ForeignKeyViolation(
            f"after the statements, {len(result.rows)} row(s) break a foreign key, e.g. a row of "
            f"{table!r} (rowid {values[1]}) points to a missing row of {parent!r}; fix the data "
            f"(or the statements) so every reference resolves",
            table=str(table),
        )


E = TypeVar("E", bound=BaseException)


def keep_notes(error: E, wrapped: BaseException) -> E:
    """``error`` with the notes of the internal error it replaces (e.g. a failed rollback)."""
    for note in getattr(wrapped, "__notes__", []):
        error.add_note(note)
    return error


def describe_error(error: Exception) -> str:
    if isinstance(error, DriverError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def describe_exception(error: BaseException, within: Path | None = None) -> str:
    """``Type: message (at FILE, line N)``: an error raised by the user's code, and where.

    The place is the innermost frame in ``within`` (a file, or a folder and what it holds);
    without ``within`` the innermost frame. A ``SyntaxError`` names its place itself.
    """
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, SyntaxError):
        return text
    frames = [
        f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith("<")
    ]
    if within is not None:
        root = within.resolve()
        frames = [f for f in frames if _inside(Path(f.filename), root)]
    if frames:
        text += f" (at {frames[-1].filename}, line {frames[-1].lineno})"
    return text


def _inside(path: Path, root: Path) -> bool:
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return resolved == root or root in resolved.parents
