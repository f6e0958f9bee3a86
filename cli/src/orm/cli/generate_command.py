"""``generate-entities``: entity modules from an existing database."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from orm.cli import output
from orm.cli.base import State, cli, run
from orm.cli.config import load_config
from orm.core.orm import driver_class_for
from orm.migrations.connection import sql_driver
from orm.migrations.generator import generate_entities, write_entities


@cli.command("generate-entities")
@click.option("--save", is_flag=True, help="Write the modules to --path (default: print them).")
@click.option(
    "--path",
    "path",
    metavar="DIR",
    default="entities",
    show_default=True,
    help="The package folder to write, relative to the project root.",
)
@click.option("--schema", "schema", metavar="S", help="The database schema to read (PostgreSQL).")
@click.option(
    "--tables",
    "tables",
    metavar="T1,T2",
    multiple=True,
    help="Only these tables (comma-separated, or the option repeated).",
)
@click.pass_obj
def generate(
    state: State, save: bool, path: str, schema: str | None, tables: tuple[str, ...]
) -> None:
    """Write @entity classes for the tables of the configured database."""
    wanted = [name.strip() for group in tables for name in group.split(",") if name.strip()]

    async def work() -> None:
        loaded = await load_config(state.config_option)
        config = loaded.config
        if not config.url:
            raise click.UsageError("the configuration has no url: set Config(url=...)")
        driver = sql_driver(
            driver_class_for(config.url).from_url(config.url, **config.driver_options)
        )
        table = config.migrations_table
        with output.working("reading the database schema"):
            files = await generate_entities(
                driver, schema=schema, tables=wanted or None, exclude=(table, f"{table}_lock")
            )
        if not save:
            for name, source in files.items():
                output.out.print(f"# --- {escape(name)} ---")
                output.out.print(escape(source))
            return
        folder = Path(path)
        if not folder.is_absolute():
            folder = loaded.root / folder
        written = write_entities(files, folder)
        for file in written:
            output.out.print(escape(str(file)))
        output.success(
            f"wrote {len(written) - 1} entities to {folder}; list them with "
            f"`from {folder.name} import ENTITIES` and Config(entities=ENTITIES)"
        )

    run(work)
