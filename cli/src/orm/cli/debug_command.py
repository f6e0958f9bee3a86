"""``debug``: the configuration found, the entities, the driver, whether the database answers."""

from __future__ import annotations

import time

import click
from rich.markup import escape
from rich.table import Table

from orm.cli import output
from orm.cli.base import CheckFailed, State, cli, run
from orm.cli.config import StartError, load_config, start_orm
from orm.cli.sql_only import non_sql_platform
from orm.core import ORM, redact_url
from orm.core.errors import ORMError
from orm.migrations import Migrator
from orm.migrations.connection import speaks_sql


@cli.command("debug")
@click.pass_obj
def debug(state: State) -> None:
    """Show the configuration, the entities and their tables, the driver and the database."""

    async def work() -> None:
        loaded = await load_config(state.config_option)
        config = loaded.config
        output.out.print(
            f"configuration: {escape(loaded.reference)} (from {escape(loaded.source)})"
        )
        output.out.print(f"project root:  {escape(str(loaded.root))}")
        output.out.print(f"url:           {escape(redact_url(config.url or '(none)'))}")
        without_sql = non_sql_platform(loaded)
        if without_sql is None:
            output.out.print(
                f"migrations:    {escape(config.migrations_path)} (table {config.migrations_table})"
            )
        else:
            output.out.print(
                f"migrations:    not available on {escape(without_sql)} (SQL databases only; "
                f"`orm schema:update --run` creates what is missing)"
            )
        try:
            orm = await start_orm(loaded)
        except StartError as exc:
            output.error(str(exc))
            raise CheckFailed from exc
        try:
            driver = type(orm.driver)
            name = f"{driver.__module__}.{driver.__qualname__}"
            output.out.print(f"driver:        {name} ({orm.driver.platform.name})")
            table = Table("entity", "table")
            for meta in orm.metadata.values():
                table.add_row(f"{meta.cls.__module__}.{meta.class_name}", meta.table)
            output.out.print(table)
            started = time.perf_counter()
            try:
                counts = await _migration_counts(orm)
            except ORMError as exc:
                output.out.print(f"database:      does not answer: {escape(redact_url(str(exc)))}")
                raise CheckFailed from exc
            elapsed = (time.perf_counter() - started) * 1000
            output.out.print(f"database:      answers ({elapsed:.0f} ms)")
            if counts is not None:
                output.out.print(f"migrations:    {counts}")
        finally:
            await orm.close()

    run(work)


async def _migration_counts(orm: ORM) -> str | None:
    """``"N executed, M pending"`` read from the database; None on a driver without SQL
    migrations, after a round trip of its own (a count of the first entity's rows)."""
    if speaks_sql(orm.driver):
        migrator = Migrator(orm)
        executed = await migrator.executed()
        pending = await migrator.pending()
        return f"{len(executed)} executed, {len(pending)} pending"
    first = next(iter(orm.metadata.values()))  # ORM.init needs at least one entity
    await orm.em.fork().count(first.cls)
    return None
