"""``migration:create|up|down|list|pending|check|fresh``."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from orm.cli import output
from orm.cli.base import CheckFailed, State, cli, open_orm, run
from orm.migrations import Migrator, RunResult


def _ddl_note(migrator: Migrator) -> None:
    if not migrator.transactional:
        output.note(
            f"{migrator.driver.platform.name} cannot roll back DDL: each migration is recorded "
            f"only after all its statements succeed, and a failure leaves the statements before "
            f"it applied"
        )


def _report(result: RunResult) -> None:
    if not result.names:
        output.success(
            "nothing to do: "
            + ("no pending migrations" if result.direction == "up" else "no executed migrations")
        )
        return
    verb = "executed" if result.direction == "up" else "reverted"
    output.success(f"{verb} {len(result.names)} migration(s)")


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
        async with open_orm(state) as (_, orm):
            migrator = Migrator(orm)
            with output.working("comparing the entities with the database"):
                created = await migrator.create(name, blank=blank, initial=initial)
            if created is None:
                output.success("no changes: the database matches the entities")
                return
            output.out.print(escape(str(created.path)))
            if created.diff is not None:
                for change in created.diff.changes:
                    output.note(f"  {change.description}")
                for message in created.diff.warnings:
                    output.warning(f"data loss in up(): {message}")
            if created.recorded:
                output.note("the database already has this schema: recorded as executed")

    run(work)


@cli.command("migration:up")
@click.option("--to", "to", metavar="NAME", help="Stop after this migration (name or prefix).")
@click.pass_obj
def migration_up(state: State, to: str | None) -> None:
    """Run the pending migrations, oldest first."""

    async def work() -> None:
        async with open_orm(state) as (_, orm):
            with output.migration_progress() as progress:
                migrator = Migrator(orm, progress=progress)
                _ddl_note(migrator)
                _report(await migrator.up(to))

    run(work)


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

    async def work() -> None:
        async with open_orm(state) as (_, orm):
            with output.migration_progress() as progress:
                migrator = Migrator(orm, progress=progress)
                _ddl_note(migrator)
                _report(await migrator.down(to))

    run(work)


@cli.command("migration:list")
@click.pass_obj
def migration_list(state: State) -> None:
    """List every migration with when it was executed."""

    async def work() -> None:
        async with open_orm(state) as (_, orm):
            statuses = await Migrator(orm).status()
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
        async with open_orm(state) as (_, orm):
            pending = await Migrator(orm).pending()
        for file in pending:
            output.out.print(escape(file.name))
        output.note(f"{len(pending)} pending migration(s)")

    run(work)


@cli.command("migration:check")
@click.pass_obj
def migration_check(state: State) -> None:
    """Exit with 1 when the entities and the database differ (for CI)."""

    async def work() -> None:
        async with open_orm(state) as (_, orm):
            with output.working("comparing the schema"):
                diff = await Migrator(orm).diff()
        if diff.is_empty:
            output.success("the database matches the entities")
            return
        output.error(f"the database differs from the entities ({len(diff.changes)} change(s)):")
        for change in diff.changes:
            output.err.print(f"  - {escape(change.description)}")
        output.note("create a migration for them with `orm migration:create`")
        raise CheckFailed

    run(work)


@cli.command("migration:fresh")
@click.pass_obj
def migration_fresh(state: State) -> None:
    """Drop every table of the database, then run every migration."""

    async def work() -> None:
        async with open_orm(state) as (_, orm):
            with output.migration_progress() as progress:
                migrator = Migrator(orm, progress=progress)
                _report(await migrator.fresh())

    run(work)
