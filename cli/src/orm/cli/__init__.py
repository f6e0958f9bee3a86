"""The ``orm`` command: schema, migrations, entity generation and diagnostics."""

from orm.cli.app import cli, main

__all__ = ["cli", "main"]
