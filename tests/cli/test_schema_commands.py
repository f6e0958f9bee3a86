"""schema:create/update/drop/fresh with --dump and --run, and the other commands."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli.conftest import ENTITIES_V2, Project
from tests.migrations.support import snapshot

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    return result


async def test_dump_changes_nothing_and_run_applies(project: Project) -> None:
    dumped = ok(project.orm("schema:create", "--dump")).stdout
    assert "CREATE TABLE" in dumped and "author" in dumped
    assert await snapshot(project.url) == {}
    ok(project.orm("schema:create", "--run"))
    assert set(await snapshot(project.url)) == {"author"}
    assert "DROP TABLE" in ok(project.orm("schema:drop", "--dump")).stdout
    fresh = ok(project.orm("schema:fresh", "--dump")).stdout
    assert fresh.index("DROP TABLE") < fresh.index("CREATE TABLE")
    ok(project.orm("schema:fresh", "--run"))
    ok(project.orm("schema:drop", "--run"))
    assert await snapshot(project.url) == {}


async def test_update_never_drops_without_the_flag(project: Project) -> None:
    project.write_entities(ENTITIES_V2)
    ok(project.orm("schema:create", "--run"))
    project.write_entities(
        """
        from orm.core import PrimaryKey, Property, entity


        @entity
        class Author:
            id: int = PrimaryKey()
            name: str = Property(length=100)
            email: str = Property(unique=True)
            born: int | None = None
        """
    )
    update = ok(project.orm("schema:update", "--dump"))
    assert "born" in update.stdout
    assert "DROP" not in update.stdout.upper().replace("DROP DEFAULT", "")
    left_out = " ".join(update.stderr.split())
    assert "left out (pass --drop to include): drop table book" in left_out
    assert "drop column author.nickname" in left_out

    ok(project.orm("schema:update", "--run"))
    schema = await snapshot(project.url)
    assert "book" in schema
    assert "born" in [c[0] for c in schema["author"]["columns"]]
    assert project.orm("migration:check").returncode == 1  # the drops are still pending

    dropping = ok(project.orm("schema:update", "--run", "--drop"))
    assert "data loss: drops table book" in " ".join(dropping.stderr.split())
    ok(project.orm("migration:check"))
    assert "already matches" in ok(project.orm("schema:update", "--run")).stderr


async def test_debug_reports_the_database(project: Project) -> None:
    report = ok(project.orm("debug")).stdout
    assert "answers" in report and "0 executed, 0 pending" in report
    assert "app.entities.Author" in report


def test_dumped_sql_is_printed_as_it_is(offline_project: Project) -> None:
    # rich would turn ":thumbs_up:" into an emoji and "[b]" into markup; --dump prints SQL as-is
    offline_project.write_entities(
        """
        import enum

        from orm.core import PrimaryKey, Property, entity


        class Mood(enum.Enum):
            HAPPY = ":thumbs_up:"
            BOLD = "[b]bold[/b]"


        @entity
        class Author:
            id: int = PrimaryKey()
            mood: Mood = Property(length=20)
        """
    )
    dumped = ok(offline_project.orm("schema:create", "--dump")).stdout
    assert "':thumbs_up:'" in dumped and "'[b]bold[/b]'" in dumped
    assert "\U0001f44d" not in dumped
