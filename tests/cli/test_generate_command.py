"""generate-entities through the console script: print, --tables, --save, then check."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli.conftest import ENTITIES_V2, Project

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    return result


async def test_generated_entities_describe_the_database(project: Project) -> None:
    project.write_entities(ENTITIES_V2)
    ok(project.orm("schema:create", "--run"))

    printed = ok(project.orm("generate-entities")).stdout
    assert "# --- author.py ---" in printed and "class Book:" in printed
    only = ok(project.orm("generate-entities", "--tables", "author")).stdout
    assert "class Author:" in only and "class Book:" not in only
    missing = project.orm("generate-entities", "--tables", "nope")
    assert missing.returncode == 1 and "nope" in missing.stderr

    saved = ok(project.orm("generate-entities", "--save", "--path", "generated"))
    folder = project.root / "generated"
    assert {p.name for p in folder.iterdir()} >= {"__init__.py", "author.py", "book.py"}
    assert str(folder / "book.py") in saved.stdout
    assert project.orm("generate-entities", "--save", "--path", "generated").returncode == 1

    (project.root / "app" / "generated_settings.py").write_text(
        "import os\n\nfrom generated import ENTITIES\nfrom orm.core import Config\n\n"
        "config = Config(url=os.environ['APP_DATABASE_URL'], entities=ENTITIES)\n"
    )
    ok(project.orm("--config", "app.generated_settings:config", "migration:check"))


async def test_reading_the_tables_shows_progress(project: Project) -> None:
    project.write_entities(ENTITIES_V2)
    ok(project.orm("schema:create", "--run"))
    result = ok(project.orm("generate-entities"))
    progress = [" ".join(line.split()) for line in result.stderr.splitlines()]
    # not a terminal: the first table, then at most a line a second, and the last one
    assert progress[0] == "reading tables: 1/2 (author)"
    assert progress[-1].startswith("read 2 table(s) in ")
    assert "reading tables" not in result.stdout


def test_an_unreachable_server_is_the_driver_message(offline_project: Project) -> None:
    result = offline_project.orm(
        "generate-entities", APP_DATABASE_URL="postgresql://postgres@127.0.0.1:9/nowhere"
    )
    assert result.returncode == 1
    assert "cannot connect to PostgreSQL at 127.0.0.1:9" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
