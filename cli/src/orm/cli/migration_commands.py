"""``migration:create|up|down|list|pending|check|fresh``.

Each stops before connecting on a driver without SQL migrations (MongoDB), with exit code 2.
"""

from __future__ import annotations

import time

import click
from rich.markup import escape
from rich.table import Table

from orm.cli import output
from orm.cli.base import CheckFailed, State, cli, open_orm, run
from orm.cli.seeder_commands import Seeding, seed_database, seed_options, seeding_of
from orm.cli.sql_only import require_migrations
from orm.migrations import Migrator, RunResult


def _ddl_note(migrator: Migrator) -> None:
    if not migrator.transactional:
        output.note(
            f"{migrator.driver.platform.name} cannot roll back DDL: each migration is recorded "
            f"only after all its statements succeed, and a failure leaves the statements before "
            f"it applied"
        )


def _stray_files(migrator: Migrator) -> None:
    for path in migrator.stray_files():
        output.warning(
            f"ignored {path.name} in {path.parent}: migration files are named "
            f"<YYYYMMDDHHMMSS>_<name>.py (UTC timestamp; lowercase letters, digits and _), as "
            f"`orm migration:create` names them"
        )


def _report(result: RunResult, started: float, to: str | None = None) -> None:
    if not result.names:
        if result.direction == "up":
            what = "no pending migrations" + (f" up to {to}" if to else "")
        elif to is None or to == "0":
            what = "no executed migrations"
        else:
            what = f"no migration was executed after {to}"
        output.success(f"nothing to do: {what}")
        return
    verb = "executed" if result.direction == "up" else "reverted"
    elapsed = output.seconds(time.perf_counter() - started)
    output.success(f"{verb} {len(result.names)} migration(s) in {elapsed}")


async def _migrate(
    state: State, direction: str, to: str | None, seeding: Seeding | None = None
) -> None:
    async with open_orm(state, check=require_migrations) as (loaded, orm):
        started = time.perf_counter()
        with output.migration_progress() as progress:
            migrator = Migrator(orm, progress=progress)
            _stray_files(migrator)
            _ddl_note(migrator)
            if direction == "up":
                result = await migrator.up(to)
            elif direction == "down":
                result = await migrator.down(to)
            else:
                result = await migrator.fresh()
        _report(result, started, to)
        if seeding is not None:
            await seed_database(loaded, orm, seeding)


@cli.command("migration:create")
@click.option("--name", "name", metavar="NAME", help="A short description, used in the file name.")
@click.option("--blank", is_flag=True, help="Write an empty migration to fill in by hand.")
@click.option(
    "--initial",
    is_flag=True,
    help="The first migration: the whole schema. Recorded as executed if the database "
    "already has it.",
)
@click.pass_obj
def migration_create(state: State, name: str | None, blank: bool, initial: bool) -> None:
    """Write a migration with the changes the database needs to match the entities."""
    if blank and initial:
        raise click.UsageError("--blank and --initial cannot be combined")

    async def work() -> None:
        async with open_orm(state, check=require_migrations) as (_, orm):
            migrator = Migrator(orm)
            with output.working("comparing the entities with the database"):
                created = await migrator.create(name, blank=blank, initial=initial)
            if created is None:
                output.success("no changes: the database matches the entities")
                return
            output.result(str(created.path))
            if created.diff is not None:
                for change in created.diff.changes:
                    output.note(f"  {change.description}")
                for message in created.diff.warnings:
                    output.warning(f"data loss in up(): {message}")
                for message in created.diff.down_warnings:
                    output.warning(f"data loss in down() (when reverted): {message}")
            if created.recorded:
                output.note("the database already has this schema: recorded as executed")

    run(work)


@cli.command("migration:up")
@click.option("--to", "to", metavar="NAME", help="Stop after this migration (name or prefix).")
@click.pass_obj
def migration_up(state: State, to: str | None) -> None:
    """Run the pending migrations, oldest first."""

    run(lambda: _migrate(state, "up", to))


@cli.command("migration:down")
@click.option(
    "--to",
    "to",
    metavar="NAME",
    help="Revert every migration executed after this one (0: all). Default: the last one.",
)
@click.pass_obj
def migration_down(state: State, to: str | None) -> None:
    """Revert the last executed migration (or down to --to)."""

    run(lambda: _migrate(state, "down", to))


@cli.command("migration:list")
@click.pass_obj
def migration_list(state: State) -> None:
    """List every migration with when it was executed."""

    async def work() -> None:
        async with open_orm(state, check=require_migrations) as (_, orm):
            migrator = Migrator(orm)
            statuses = await migrator.status()
        _stray_files(migrator)
        if not statuses:
            output.note("no migrations yet: create one with `orm migration:create`")
            return
        table = Table("name", "executed at (UTC)")
        for status in statuses:
            when = (
                f"{status.executed_at:%Y-%m-%d %H:%M:%S}"
                if status.executed_at is not None
                else "pending"
            )
            name = status.name if status.has_file else f"{status.name} (file missing)"
            table.add_row(escape(name), when)
        output.out.print(table)

    run(work)


@cli.command("migration:pending")
@click.pass_obj
def migration_pending(state: State) -> None:
    """List the migrations not executed yet."""

    async def work() -> None:
        async with open_orm(state, check=require_migrations) as (_, orm):
            migrator = Migrator(orm)
            pending = await migrator.pending()
        _stray_files(migrator)
        for file in pending:
            output.result(file.name)
        output.note(f"{len(pending)} pending migration(s)")

    run(work)


@cli.command("migration:check")
@click.pass_obj
def migration_check(state: State) -> None:
    """Exit with 1 when the entities and the database differ (for CI)."""

    async def work() -> None:
        async with open_orm(state, check=require_migrations) as (_, orm):
            migrator = Migrator(orm)
            pending = await migrator.pending()
            with output.working("comparing the schema"):
                diff = await migrator.diff()
        if pending:
            output.warning(
                f"{len(pending)} migration(s) not executed yet: "
                + ", ".join(f.name for f in pending)
            )
        if diff.is_empty:
            output.success("the database matches the entities")
            return
        output.error(f"the database differs from the entities ({len(diff.changes)} change(s)):")
        for change in diff.changes:
            output.err.print(f"  - {escape(change.description)}")
        if pending:
            output.note(
                "run them with `orm migration:up`, then check again; create a migration with "
                "`orm migration:create` for what is still missing"
            )
        else:
            output.note("create a migration for them with `orm migration:create`")
        raise CheckFailed

    run(work)


@cli.command("migration:fresh")
@seed_options
@click.pass_obj
def migration_fresh(state: State, seed: bool, seeder: str | None) -> None:
    """Drop every table of the database, then run every migration.

    With --seed, then run a seeder (as seeder:run does).
    """
    seeding = seeding_of(seed, seeder)
    run(lambda: _migrate(state, "fresh", None, seeding))
