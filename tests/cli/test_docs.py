"""docs/cli.md's reference is the real `--help` of every command.

Run with ``ORM_UPDATE_DOCS=1`` to rewrite the reference section from the installed command.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from orm.cli.app import cli
from tests.cli.conftest import ORM_SCRIPT

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
MARKER = "<!-- generated from `orm <command> --help`"


def help_text(*command: str) -> str:
    result = subprocess.run(
        [str(ORM_SCRIPT), *command, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    return result.stdout.rstrip() + "\n"


def reference() -> str:
    parts = ["### `orm`\n", "```text\n" + help_text() + "```\n"]
    for name in sorted(cli.commands):
        parts += [f"### `orm {name}`\n", "```text\n" + help_text(name) + "```\n"]
    return "\n".join(parts)


def test_the_reference_matches_the_help_of_every_command() -> None:
    text = DOC.read_text()
    head, marker, _ = text.partition(MARKER)
    assert marker, f"{DOC} lost its reference marker"
    marker_line = MARKER + text.partition(MARKER)[2].split("\n", 1)[0]
    expected = head + marker_line + "\n\n" + reference()
    if os.environ.get("ORM_UPDATE_DOCS") == "1":
        DOC.write_text(expected)
    assert text == expected, (
        "docs/cli.md is stale: run ORM_UPDATE_DOCS=1 pytest tests/cli/test_docs.py"
    )
