"""``schema:create``, ``schema:update``, ``schema:drop``, ``schema:fresh``.

On a SQL driver they print or run SQL; on a driver without SQL (MongoDB) the driver's schema
manager does the work (see :mod:`orm.cli.schema_without_sql`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import click

from orm.cli import output, schema_without_sql
from orm.cli.base import State, cli, open_orm, run
from orm.cli.seeder_commands import seed_database, seed_options, seeding_of
from orm.core import ORM
from orm.migrations import schema
from orm.migrations.connection import speaks_sql

DUMP_HELP = "Print the SQL (on MongoDB: the commands) and change nothing."
RUN_HELP = "Change the database: run the SQL (on MongoDB: the commands)."


def _mode(dump: bool, execute: bool) -> None:
    if dump == execute:
        raise click.UsageError(
            "pass --run to change the database, or --dump to print the SQL without running it"
        )


def _schema_command(
    name: str,
    help_text: str,
    plan: Callable[[ORM], Awaitable[list[str]]],
    done: str,
    without_sql: Callable[[ORM, bool], Awaitable[None]],
    seedable: bool = False,
) -> None:
    def command(
        state: State, dump: bool, execute: bool, seed: bool = False, seeder: str | None = None
    ) -> None:
        _mode(dump, execute)
        seeding = seeding_of(seed, seeder, dump=dump)

        async def work() -> None:
            async with open_orm(state) as (loaded, orm):
                if not speaks_sql(orm.driver):
                    await without_sql(orm, dump)
                else:
                    statements = await plan(orm)
                    if dump:
                        output.print_sql(statements)
                        return
                    await schema.execute(orm, statements)
                    output.success(f"{done} ({len(statements)} statement(s))")
                if seeding is not None:
                    await seed_database(loaded, orm, seeding)

        run(work)

    # Decorated by hand: only schema:fresh takes --seed.
    decorated = click.pass_obj(command)
    if seedable:
        decorated = seed_options(decorated)
    decorated = click.option("--run", "execute", is_flag=True, help=RUN_HELP)(decorated)
    decorated = click.option("--dump", is_flag=True, help=DUMP_HELP)(decorated)
    cli.command(name, help=help_text)(decorated)


async def _create(orm: ORM) -> list[str]:
    return await schema.create_sql(orm)


async def _drop(orm: ORM) -> list[str]:
    return schema.drop_sql(orm)


async def _fresh(orm: ORM) -> list[str]:
    return schema.drop_sql(orm) + await schema.create_sql(orm)


_schema_command(
    "schema:create",
    "Create every entity table (for a new, empty database).",
    _create,
    "schema created",
    schema_without_sql.create,
)
_schema_command(
    "schema:drop",
    "Drop every entity table (other tables are left alone).",
    _drop,
    "schema dropped",
    schema_without_sql.drop,
)
_schema_command(
    "schema:fresh",
    "Drop the entity tables and create them again (all their data is lost).",
    _fresh,
    "schema recreated",
    schema_without_sql.fresh,
    seedable=True,
)


@cli.command("schema:update")
@click.option("--dump", is_flag=True, help=DUMP_HELP)
@click.option("--run", "execute", is_flag=True, help=RUN_HELP)
@click.option("--drop", is_flag=True, help="Also drop tables and columns the entities lack.")
@click.pass_obj
def schema_update(state: State, dump: bool, execute: bool, drop: bool) -> None:
    """Bring the database to the entities' schema (no drops without --drop)."""
    _mode(dump, execute)

    async def work() -> None:
        async with open_orm(state) as (_, orm):
            if not speaks_sql(orm.driver):
                await schema_without_sql.update(orm, dump, drop)
                return
            with output.working("comparing the entities with the database"):
                diff = await schema.update_diff(orm, drop=drop)
            for description in diff.skipped:
                output.warning(f"left out (pass --drop to include): {description}")
            for message in diff.warnings:
                output.warning(f"data loss: {message}")
            statements = diff.up_sql()
            if not statements:
                output.success("the database already matches the entities")
                return
            if dump:
                output.print_sql(statements)
                return
            await schema.execute(orm, statements)
            output.success(f"schema updated ({len(statements)} statement(s))")

    run(work)
