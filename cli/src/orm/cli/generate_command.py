"""``generate-entities``: entity modules from an existing database."""

from __future__ import annotations

from pathlib import Path

import click

from orm.cli import output
from orm.cli.base import State, cli, run
from orm.cli.config import LoadedConfig, StartError, load_config
from orm.cli.sql_only import require_generator
from orm.core.errors import ORMError
from orm.core.orm import driver_class_for
from orm.core.urls import redact_url
from orm.migrations.connection import sql_driver
from orm.migrations.generator import generate_entities, write_entities
from orm.migrations.runner import describe_exception
from orm.query_builder import SqlDriver


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
        require_generator(loaded)
        driver = await _driver(loaded)
        table = config.migrations_table
        with output.table_progress("generating the entity modules") as on_table:
            files = await generate_entities(
                driver,
                schema=schema,
                tables=wanted or None,
                exclude=(table, f"{table}_lock"),
                on_table=on_table,
            )
        if not save:
            for name, source in files.items():
                output.result(f"# --- {name} ---")
                output.result(source)
            return
        folder = Path(path)
        if not folder.is_absolute():
            folder = loaded.root / folder
        written = write_entities(files, folder)
        for file in written:
            output.result(str(file))
        output.success(
            f"wrote {len(written) - 1} entities to {folder}; list them with "
            f"`from {folder.name} import ENTITIES` and Config(entities=ENTITIES)"
        )

    run(work)


async def _driver(loaded: LoadedConfig) -> SqlDriver:
    """The configured SQL driver, after checking that the database answers.

    The generator reads the schema on connections of its own; connecting the driver first turns
    an unreachable server into the driver's message instead of the connection library's.
    """
    config = loaded.config
    assert config.url is not None
    try:
        driver = sql_driver(
            driver_class_for(config.url).from_url(config.url, **config.driver_options)
        )
    except ORMError:
        raise
    except Exception as exc:
        raise StartError(
            redact_url(
                f"the driver cannot be created from the configuration {loaded.reference!r} "
                f"(from {loaded.source}): {describe_exception(exc, loaded.root)}"
            )
        ) from exc
    await driver.connect([])
    await driver.close()
    return driver
