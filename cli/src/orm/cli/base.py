"""The ``orm`` command group, configuration loading and error handling (shared by commands).

Exit codes: 0 success; 1 a failed check (``migration:check`` found differences, ``debug``
could not reach the database) or an error while working; 2 a usage error (bad options, no
configuration found, a SQL-only command on a driver without SQL); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from orm.cli import output
from orm.cli.config import ConfigNotFoundError, LoadedConfig, load_config, start_orm
from orm.core import ORM
from orm.core.errors import ORMError
from orm.migrations.connection import SqlOnlyError

T = TypeVar("T")

CONTEXT_SETTINGS: dict[str, Any] = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": 100,
    "terminal_width": 100,
}


class CheckFailed(Exception):
    """A command's check found a problem: exit code 1 (the command already said why)."""


@dataclass
class State:
    config_option: str | None


@asynccontextmanager
async def open_orm(
    state: State, check: Callable[[LoadedConfig], None] | None = None
) -> AsyncIterator[tuple[LoadedConfig, ORM]]:
    """The configured ORM, closed after; ``check`` may refuse the configuration before it starts."""
    loaded = await load_config(state.config_option)
    if check is not None:
        check(loaded)
    orm = await start_orm(loaded)
    try:
        yield loaded, orm
    finally:
        await orm.close()


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a command's coroutine; turn orm errors into a message and an exit code."""
    try:
        return asyncio.run(_call(work))
    except (ConfigNotFoundError, SqlOnlyError) as exc:
        output.error(str(exc))
        raise click.exceptions.Exit(2) from None
    except CheckFailed:
        raise click.exceptions.Exit(1) from None
    except ORMError as exc:
        # Notes say what else went wrong, e.g. a rollback that failed after the error.
        output.error("\n".join([str(exc), *getattr(exc, "__notes__", ())]))
        raise click.exceptions.Exit(1) from None
    except OSError as exc:  # a file that cannot be written, a socket that cannot connect
        output.error(f"{type(exc).__name__}: {exc}")
        raise click.exceptions.Exit(1) from None
    except KeyboardInterrupt:
        output.error("interrupted")
        raise click.exceptions.Exit(130) from None


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


@click.group(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--config",
    "config_option",
    metavar="MODULE:ATTRIBUTE",
    help="The orm Config to use (default: $ORM_CONFIG, then [tool.orm] config in the nearest "
    "pyproject.toml).",
)
@click.version_option(package_name="orm-cli", prog_name="orm")
@click.pass_context
def cli(context: click.Context, config_option: str | None) -> None:
    """orm: schema, migrations and entity generation for the orm Data Mapper."""
    context.obj = State(config_option)


def state_of(context: click.Context) -> State:
    state = context.find_object(State)
    assert state is not None
    return state
