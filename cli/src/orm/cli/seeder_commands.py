"""``seeder:run`` and ``seeder:create``, and the ``--seed`` of ``migration:fresh``/``schema:fresh``.

Seeders are orm-testing's (docs/testing.md#seeders); the CLI finds them in
``Config.seeders_path`` (see :mod:`orm.cli.seeder_files`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from orm.cli import output
from orm.cli.base import State, cli, open_orm, run
from orm.cli.config import LoadedConfig, load_config
from orm.cli.seeder_files import find_seeder, seeder_base, write_seeder
from orm.core import ORM
from orm.core.errors import ORMError
from orm.migrations.runner import describe_exception

F = TypeVar("F", bound=Callable[..., Any])

CLASS_HELP = (
    "The seeder: a class name found in Config.seeders_path, or module:Class. "
    "Default: Config.default_seeder (DatabaseSeeder)."
)


class SeederFailedError(ORMError):
    """A seeder raised an exception of its own (not an orm error): the run was rolled back."""


@dataclass(frozen=True)
class Seeding:
    """``--seed`` was given: run this seeder (None: the configured default) after the command."""

    seeder: str | None


def seed_options(command: F) -> F:
    """``--seed`` and ``--seeder NAME`` for the commands that recreate the schema."""
    command = click.option(
        "--seeder", "seeder", metavar="NAME", help="The seeder --seed runs (as seeder:run --class)."
    )(command)
    return click.option(
        "--seed", "seed", is_flag=True, help="Then run the seeder (Config.default_seeder)."
    )(command)


def seeding_of(seed: bool, seeder: str | None, *, dump: bool = False) -> Seeding | None:
    """What ``--seed``/``--seeder`` ask for; a usage error when they cannot go together."""
    if seeder is not None and not seed:
        raise click.UsageError("--seeder names the seeder of --seed: pass --seed too")
    if seed and dump:
        raise click.UsageError("--seed runs a seeder, which --dump cannot: use --run")
    return Seeding(seeder) if seed else None


async def seed_database(loaded: LoadedConfig, orm: ORM, seeding: Seeding) -> None:
    """Find the seeder and run it (in one transaction), a line per seeder on stderr."""
    seeder_base()  # says how to install orm-testing when it is missing
    from orm.testing.seeding import run_seeder

    seeder = find_seeder(loaded, seeding.seeder)
    started = time.perf_counter()
    names: list[str] = []

    def announce(name: str) -> None:
        names.append(name)
        output.note(f"seeding {name}")

    try:
        await run_seeder(orm.em.fork(), seeder, announce=announce)
    except ORMError as exc:
        exc.add_note("the seeding transaction was rolled back: nothing of this run was kept")
        raise
    except Exception as exc:
        raise SeederFailedError(
            f"{names[-1] if names else seeder.__name__} failed: "
            f"{describe_exception(exc, loaded.root)}; the seeding transaction was rolled back: "
            f"nothing of this run was kept"
        ) from exc
    elapsed = output.seconds(time.perf_counter() - started)
    output.success(f"seeded the database: {len(names)} seeder(s) in {elapsed}")


@cli.command("seeder:run")
@click.option("--class", "class_name", metavar="NAME", help=CLASS_HELP)
@click.pass_obj
def seeder_run(state: State, class_name: str | None) -> None:
    """Run a seeder (and the seeders it calls) in one transaction."""

    async def work() -> None:
        async with open_orm(state) as (loaded, orm):
            await seed_database(loaded, orm, Seeding(class_name))

    run(work)


@cli.command("seeder:create")
@click.argument("name")
@click.pass_obj
def seeder_create(state: State, name: str) -> None:
    """Write a new seeder file in Config.seeders_path.

    NAME is the class name, e.g. User or UserSeeder (Seeder is appended when missing); the
    file is its snake_case name, user_seeder.py.
    """

    async def work() -> None:
        loaded = await load_config(state.config_option)
        output.result(str(write_seeder(loaded, name)))

    run(work)
