"""The ``orm`` console script: the command group with every command registered."""

from __future__ import annotations

import sys

from orm.cli import (
    debug_command,
    generate_command,
    migration_commands,
    schema_commands,
    seeder_commands,
)
from orm.cli.base import cli

COMMAND_MODULES = (
    schema_commands,
    migration_commands,
    seeder_commands,
    generate_command,
    debug_command,
)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``orm``."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="orm")


__all__ = ["COMMAND_MODULES", "cli", "main"]
