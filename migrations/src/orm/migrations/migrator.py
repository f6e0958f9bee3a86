"""The migrator: runs migration files up and down, records them, holds the lock."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from orm.core import ORM
from orm.migrations.backfill import REMEDY
from orm.migrations.changes import SchemaDiff, diff_schema
from orm.migrations.connection import family, sql_connection, sql_driver
from orm.migrations.errors import MigrationError, MigrationFailedError, MigrationFileError
from orm.migrations.files import (
    MigrationFile,
    discover_files,
    new_migration_name,
    resolve_name,
    stray_files,
)
from orm.migrations.lock import lock_for
from orm.migrations.migration import Migration, Statement
from orm.migrations.runner import (
    BookkeepingError,
    StatementError,
    describe_error,
    describe_exception,
    keep_notes,
    run_statements,
)
from orm.migrations.storage import ExecutedMigration, MigrationTable
from orm.migrations.writer import render_migration, write_migration
from orm.query_builder import SqlConnection

DEFAULT_LOCK_TIMEOUT = 60.0


def _ignore(*_: object) -> None:
    return None


@dataclass
class Progress:
    """Callbacks the CLI uses to draw progress; every one is optional."""

    notice: Callable[[str], None] = _ignore
    # (direction, name, position starting at 1, total)
    started: Callable[[str, str, int, int], None] = _ignore
    # (direction, name, seconds)
    finished: Callable[[str, str, float], None] = _ignore
    # (direction, name, what it loses): a ``# DATA LOSS:`` marker of a migration about to run
    data_loss: Callable[[str, str, str], None] = _ignore


@dataclass(frozen=True)
class MigrationStatus:
    """One line of ``migration:list``: a file, an executed migration, or both."""

    name: str
    executed_at: object | None = None
    has_file: bool = True

    @property
    def executed(self) -> bool:
        return self.executed_at is not None


@dataclass(frozen=True)
class CreatedMigration:
    name: str
    path: Path
    diff: SchemaDiff | None
    # --initial on a database that already has the schema: recorded as executed, not run.
    recorded: bool = False


@dataclass
class RunResult:
    direction: str
    names: list[str] = field(default_factory=list)


class Migrator:
    """``await Migrator(orm).up()``; the CLI's migration commands call these methods."""

    def __init__(
        self,
        orm: ORM,
        *,
        folder: str | Path | None = None,
        table: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        progress: Progress | None = None,
    ) -> None:
        self.orm = orm
        self.driver = sql_driver(orm.driver)
        self.folder = Path(folder if folder is not None else orm.config.migrations_path)
        self.storage = MigrationTable(self.driver, table or orm.config.migrations_table)
        self.lock_timeout = lock_timeout
        self.progress = progress or Progress()

    @property
    def transactional(self) -> bool:
        """Whether each migration runs in its own transaction (the database rolls back DDL)."""
        return self.driver.platform.transactional_ddl

    @property
    def dialect(self) -> str:
        return family(self.driver)

    # -- state -----------------------------------------------------------------------------

    def files(self) -> list[MigrationFile]:
        return discover_files(self.folder)

    async def executed(self) -> list[ExecutedMigration]:
        async with sql_connection(self.driver) as connection:
            return await self.storage.executed(connection)

    async def status(self) -> list[MigrationStatus]:
        """Every migration, executed or pending, oldest first."""
        executed = {m.name: m.executed_at for m in await self.executed()}
        names = {f.name for f in self.files()}
        return [
            MigrationStatus(name, executed.get(name), name in names)
            for name in sorted(names | set(executed))
        ]

    async def pending(self) -> list[MigrationFile]:
        done = {m.name for m in await self.executed()}
        return [f for f in self.files() if f.name not in done]

    # -- authoring -------------------------------------------------------------------------

    async def diff(self) -> SchemaDiff:
        """What the database lacks compared with the entities (empty: in sync)."""
        return await diff_schema(self.orm)

    async def create(
        self, name: str | None = None, *, blank: bool = False, initial: bool = False
    ) -> CreatedMigration | None:
        """Write the next migration file; None when the schema is already in sync."""
        label = name or ("initial" if initial else None)
        migration_name = new_migration_name(label, [f.name for f in self.files()])
        if blank:
            source = render_migration(migration_name, None, dialect=None)
            return CreatedMigration(
                migration_name, write_migration(self.folder, migration_name, source), None
            )
        executed = await self.executed()
        if initial:
            if self.files() or executed:
                raise MigrationError(
                    f"--initial makes the first migration, and this project already has "
                    f"migrations ({self.folder}, table {self.storage.name}); run "
                    f"`orm migration:create` for the next one"
                )
            return await self._create_initial(migration_name)
        done = {m.name for m in executed}
        pending = [f.name for f in self.files() if f.name not in done]
        if pending:
            raise MigrationError(
                f"{len(pending)} migration(s) are not executed yet ({', '.join(pending)}); run "
                f"`orm migration:up` first, so that the new migration does not repeat them"
            )
        diff = await diff_schema(self.orm)
        if diff.is_empty:
            return None
        if diff.blocking:
            raise MigrationError(
                f"the migration would fail on this database: {'; '.join(diff.blocking)}. "
                f"To fix it: {REMEDY}. No migration was written"
            )
        source = render_migration(migration_name, diff, dialect=self.dialect)
        path = write_migration(self.folder, migration_name, source)
        return CreatedMigration(migration_name, path, diff)

    async def _create_initial(self, migration_name: str) -> CreatedMigration:
        diff = await diff_schema(self.orm, from_empty=True)
        current = await diff_schema(self.orm)
        source = render_migration(migration_name, diff, dialect=self.dialect)
        path = write_migration(self.folder, migration_name, source)
        if not current.is_empty:
            return CreatedMigration(migration_name, path, diff)
        # The database already has this schema: record the migration instead of running it.
        async with sql_connection(self.driver) as connection:
            await self.storage.ensure(connection)
            await self.storage.record(connection, migration_name)
        return CreatedMigration(migration_name, path, diff, recorded=True)

    # -- running ---------------------------------------------------------------------------

    async def up(self, to: str | None = None) -> RunResult:
        """Run the pending migrations (up to and including ``to``), oldest first."""
        result = RunResult("up")
        async with sql_connection(self.driver) as connection:
            await self._locked(connection, lambda: self._up(connection, to, result))
        return result

    async def down(self, to: str | None = None) -> RunResult:
        """Revert the last migration, or every one executed after ``to`` (``"0"``: all)."""
        result = RunResult("down")
        async with sql_connection(self.driver) as connection:
            await self._locked(connection, lambda: self._down(connection, to, result))
        return result

    async def fresh(self) -> RunResult:
        """Drop every table of the database, then run every migration."""
        result = RunResult("up")

        async def work(connection: SqlConnection) -> None:
            # Every migration is loaded before anything is dropped: a broken file stops the run
            # while the database is still intact.
            prepared = await self._prepare(self.files(), "up")
            await self._drop_everything(connection)
            await self.storage.ensure(connection)
            await self._run_all(connection, prepared, "up", result)

        async with sql_connection(self.driver) as connection:
            await self._locked(connection, lambda: work(connection), ensure=False)
        return result

    def stray_files(self) -> list[Path]:
        """Python files in the migrations folder that are not named like a migration (ignored)."""
        return stray_files(self.folder)

    async def _drop_everything(self, connection: SqlConnection) -> None:
        keep = f"{self.storage.name}_lock"
        names = sorted(n for n in await connection.existing_columns() if n != keep)
        if not names:
            return
        self.progress.notice(f"dropping {len(names)} table(s)")
        stubs = [sa.Table(name, sa.MetaData()) for name in names]
        statements = [Statement(sql=sql) for sql in self.driver.drop_statements(stubs)]
        try:
            await run_statements(
                self.orm, self.driver, connection, statements, transactional=self.transactional
            )
        except StatementError as exc:
            undone = (
                "Nothing was dropped (rolled back)."
                if self.transactional
                else f"The {exc.index} statement(s) before it stay applied."
            )
            failure = MigrationError(
                f"dropping the tables failed at statement {exc.index + 1} of {len(statements)}:"
                f"\n    {exc.statement.describe()}\n{describe_error(exc.error)}\n{undone} No "
                f"migration was run."
            )
            raise keep_notes(failure, exc) from exc.error

    async def _locked(
        self,
        connection: SqlConnection,
        work: Callable[[], Awaitable[None]],
        *,
        ensure: bool = True,
    ) -> None:
        lock = lock_for(self.driver, self.storage.name)
        await lock.acquire(connection, wait_seconds=self.lock_timeout, on_wait=self.progress.notice)
        try:
            if ensure:
                await self.storage.ensure(connection)
            await work()
        except BaseException:
            # The run's own error is what matters: a failing release must not replace it.
            with contextlib.suppress(Exception):
                await lock.release(connection)
            raise
        await lock.release(connection)

    async def _up(self, connection: SqlConnection, to: str | None, result: RunResult) -> None:
        # Read under the lock: a run that waited sees what the other one executed.
        done = {m.name for m in await self.storage.executed(connection)}
        files = self.files()
        pending = [f for f in files if f.name not in done]
        if to is not None:
            target = resolve_name([f.name for f in files], to)
            if target in done:
                self.progress.notice(f"{target} is already executed; nothing to run")
                return
            pending = [f for f in pending if f.name <= target]
        await self._run_all(connection, await self._prepare(pending, "up"), "up", result)

    async def _down(self, connection: SqlConnection, to: str | None, result: RunResult) -> None:
        executed = [m.name for m in await self.storage.executed(connection)]
        if not executed:
            return
        files = {f.name: f for f in self.files()}
        if to is None:
            chosen = executed[-1:]
        elif to == "0":
            chosen = executed
        else:
            target = self._executed_target(executed, list(files), to)
            chosen = executed[executed.index(target) + 1 :]
        chosen = list(reversed(chosen))
        missing = [name for name in chosen if name not in files]
        if missing:
            raise MigrationFileError(
                f"migration(s) {', '.join(missing)} are recorded as executed but their files are "
                f"missing from {self.folder}; restore them to revert them (nothing was reverted)"
            )
        prepared = await self._prepare([files[name] for name in chosen], "down")
        await self._run_all(connection, prepared, "down", result)

    @staticmethod
    def _executed_target(executed: list[str], files: list[str], to: str) -> str:
        try:
            return resolve_name(executed, to)
        except MigrationFileError:
            pending = [name for name in files if name not in executed and name.startswith(to)]
            if len(pending) == 1 or to in pending:
                raise MigrationFileError(
                    f"migration {pending[0] if len(pending) == 1 else to} is not executed, so "
                    f"there is nothing after it to revert; --to names an executed migration (or "
                    f"0 for all). Run `orm migration:list` to see which are executed"
                ) from None
            raise

    async def _prepare(self, files: list[MigrationFile], direction: str) -> list[_Prepared]:
        """Load every migration of the run and collect its statements before running any.

        A file that does not import, names another dialect, or whose ``up()``/``down()``
        raises stops the run before the first migration runs.
        """
        prepared = []
        for file in files:
            try:
                migration = file.instantiate()
            except MigrationError:
                raise
            except Exception as exc:
                raise MigrationFileError(
                    f"migration {file.name} ({file.path}) cannot be created: "
                    f"{describe_exception(exc, file.path)}; no migration was run"
                ) from exc
            self._check_dialect(migration)
            try:
                statements = await migration.collect(direction)
            except Exception as exc:
                raise MigrationFileError(
                    f"migration {file.name} ({file.path}): its {direction}() failed: "
                    f"{describe_exception(exc, file.path)}; no migration was run"
                ) from exc
            prepared.append(_Prepared(file, migration, statements))
        return prepared

    async def _run_all(
        self,
        connection: SqlConnection,
        prepared: list[_Prepared],
        direction: str,
        result: RunResult,
    ) -> None:
        for position, item in enumerate(prepared, 1):
            await self._run(connection, item, direction, position, len(prepared))
            result.names.append(item.file.name)

    async def _run(
        self, connection: SqlConnection, item: _Prepared, direction: str, at: int, total: int
    ) -> None:
        name, statements = item.file.name, item.statements
        transactional = self.transactional and item.migration.transactional
        for message in item.migration.data_loss(direction):
            self.progress.data_loss(direction, name, message)
        self.progress.started(direction, name, at, total)
        started = time.perf_counter()

        async def bookkeeping() -> None:
            if direction == "up":
                await self.storage.record(connection, name)
            else:
                await self.storage.forget(connection, name)

        try:
            await run_statements(
                self.orm,
                self.driver,
                connection,
                statements,
                transactional=transactional,
                finish=bookkeeping,
            )
        except StatementError as exc:
            failure = self._failure(name, direction, statements, exc, transactional)
            raise keep_notes(failure, exc) from exc.error
        except BookkeepingError as exc:
            failure = self._bookkeeping_failure(name, direction, statements, exc, transactional)
            raise keep_notes(failure, exc) from exc.error
        except MigrationError:
            raise
        except Exception as exc:
            raise MigrationFailedError(
                f"migration {name} ({direction}) failed: {describe_error(exc)}. "
                f"{self._state_after(transactional, direction)}",
                migration=name,
                statement=None,
            ) from exc
        self.progress.finished(direction, name, time.perf_counter() - started)

    def _check_dialect(self, migration: Migration) -> None:
        wanted = migration.dialect
        if wanted is not None and wanted != self.dialect:
            raise MigrationFileError(
                f"migration {migration.name} was generated for {wanted} and this database is "
                f"{self.dialect}; generate migrations against the kind of database they run on "
                f"(or remove `dialect = {wanted!r}` if its SQL is portable). No migration was run"
            )

    def _failure(
        self,
        name: str,
        direction: str,
        statements: list[Statement],
        exc: StatementError,
        transactional: bool,
    ) -> MigrationFailedError:
        statement = exc.statement.describe()
        return MigrationFailedError(
            f"migration {name} ({direction}) failed at statement {exc.index + 1} of "
            f"{len(statements)}:\n    {statement}\n{describe_error(exc.error)}\n"
            f"{self._state_after(transactional, direction, exc.index)}",
            migration=name,
            statement=statement,
        )

    def _bookkeeping_failure(
        self,
        name: str,
        direction: str,
        statements: list[Statement],
        exc: BookkeepingError,
        transactional: bool,
    ) -> MigrationFailedError:
        table = self.storage.name
        if direction == "up":
            what, by_hand = (
                f"recording it in {table}",
                f"INSERT INTO {table} (name, executed_at) VALUES ('{name}', CURRENT_TIMESTAMP)",
            )
        else:
            what, by_hand = (
                f"removing it from {table}",
                f"DELETE FROM {table} WHERE name = '{name}'",
            )
        head = (
            f"migration {name} ({direction}): its {len(statements)} statement(s) succeeded, then "
            f"{what} failed: {describe_error(exc.error)}\n"
        )
        if transactional:
            return MigrationFailedError(
                head + self._state_after(True, direction), migration=name, statement=None
            )
        return MigrationFailedError(
            head + f"Its statements stay applied ({self.driver.platform.name} cannot roll back "
            f"DDL) but the bookkeeping does not say so; once the database answers again, fix the "
            f"bookkeeping by hand: {by_hand}",
            migration=name,
            statement=None,
        )

    def _state_after(self, transactional: bool, direction: str, index: int | None = None) -> str:
        verb = "recorded as executed" if direction == "up" else "removed from the executed list"
        if transactional:
            return (
                f"The migration was rolled back and not {verb}; fix it and run again. The "
                f"migrations before it stay applied."
            )
        done = "" if not index else f" Its first {index} statement(s) were applied and stay so"
        return (
            f"It was not {verb}.{done} ({self.driver.platform.name} cannot roll back DDL): "
            f"undo them by hand or make the migration tolerate them, then run again."
        )


@dataclass(frozen=True)
class _Prepared:
    """A migration of a run, loaded, with the statements its ``up()``/``down()`` queued."""

    file: MigrationFile
    migration: Migration
    statements: list[Statement]
