"""The migration commands end to end, per database, through the `orm` console script."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from orm.core.orm import driver_class_for
from orm.migrations.connection import sql_connection, sql_driver
from tests.cli.conftest import ENTITIES_V1, ENTITIES_V2, ORM_SCRIPT, Project
from tests.migrations.support import snapshot

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")

BOOKKEEPING = ("orm_migrations", "orm_migrations_lock")


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    return result


async def test_create_up_down_up_then_check_detects_a_changed_entity(project: Project) -> None:
    assert project.orm("migration:check").returncode == 1  # empty database: differs
    ok(project.orm("migration:create", "--name", "first"))
    [first] = project.migrations()
    assert first.name.endswith("_first.py")
    assert "first" in ok(project.orm("migration:pending")).stdout

    ok(project.orm("migration:up"))
    schema = await snapshot(project.url, exclude=BOOKKEEPING)
    assert set(schema) == {"author"}
    ok(project.orm("migration:check"))
    ok(project.orm("migration:down"))
    assert await snapshot(project.url, exclude=BOOKKEEPING) == {}
    ok(project.orm("migration:up"))
    assert await snapshot(project.url, exclude=BOOKKEEPING) == schema

    project.write_entities(ENTITIES_V2)
    check = project.orm("migration:check")
    assert check.returncode == 1
    assert "create table book" in check.stderr and "add column author.nickname" in check.stderr
    created = ok(project.orm("migration:create", "--name", "books"))
    assert "_books.py" in created.stdout
    ok(project.orm("migration:up"))
    ok(project.orm("migration:check"))

    listing = ok(project.orm("migration:list")).stdout
    assert "_first" in listing and "_books" in listing and "pending" not in listing
    assert "0 pending" in ok(project.orm("migration:pending")).stderr

    down = ok(project.orm("migration:down", "--to", first.stem))
    assert "reverted 1 migration" in down.stderr
    assert project.orm("migration:check").returncode == 1
    ok(project.orm("migration:up", "--to", first.stem))  # already executed: nothing to do
    ok(project.orm("migration:up"))
    ok(project.orm("migration:check"))


async def test_data_loss_is_reported_by_create(project: Project) -> None:
    ok(project.orm("migration:create"))
    ok(project.orm("migration:up"))
    project.write_entities(
        """
        from orm.core import PrimaryKey, Property, entity


        @entity
        class Author:
            id: int = PrimaryKey()
            name: str = Property(length=50)
        """
    )
    created = ok(project.orm("migration:create"))
    message = " ".join(created.stderr.split())
    assert "data loss in up():" in message
    assert "drops column author.email and its values" in message and "author.name" in message
    source = project.migrations()[-1].read_text()
    assert "# DATA LOSS: " in source and "drops column author.email" in source
    assert "DATA LOSS when running up():" in source

    # Running it reports the markers before its statements run.
    up = " ".join(ok(project.orm("migration:up")).stderr.split())
    assert "up() loses data:" in up and "drops column author.email" in up


async def insert_author(url: str) -> None:
    driver = sql_driver(driver_class_for(url).from_url(url))
    await driver.connect([])
    try:
        async with sql_connection(driver) as connection:
            await connection.execute(
                "INSERT INTO author (name, email) VALUES ('Jon', 'jon@wall.st')"
            )
    finally:
        await driver.close()


async def test_a_new_not_null_column_on_a_table_with_rows(project: Project) -> None:
    ok(project.orm("migration:create"))
    ok(project.orm("migration:up"))
    await insert_author(project.url)
    head = ENTITIES_V1.rstrip() + "\n    "  # a property more in Author
    # no default: refused at create time, with what to do, and nothing written
    project.write_entities(head + "code: str = Property(length=5)\n")
    refused = project.orm("migration:create")
    message = " ".join(refused.stderr.split())
    assert refused.returncode == 1, refused.stderr
    assert "table author has rows, and Author.code (column author.code) is NOT NULL" in message
    assert "No migration was written" in message and len(project.migrations()) == 1
    # a plain default: the rows get it, and the schema matches the entities afterwards
    project.write_entities(head + "rank: int = 7\n")
    ok(project.orm("migration:create"))
    ok(project.orm("migration:up"))
    ok(project.orm("migration:check"))


async def test_create_reports_what_down_would_lose(project: Project) -> None:
    ok(project.orm("migration:create"))
    ok(project.orm("migration:up"))
    project.write_entities(
        """
        from orm.core import PrimaryKey, Property, entity


        @entity
        class Author:
            id: int = PrimaryKey()
            name: str = Property(length=100)
            email: str = Property(unique=True)
            nickname: str | None = None
        """
    )
    created = " ".join(ok(project.orm("migration:create")).stderr.split())
    assert "data loss in down() (when reverted): drops column author.nickname" in created
    source = project.migrations()[-1].read_text()
    assert "DATA LOSS when running down():" in source
    ok(project.orm("migration:up"))
    down = " ".join(
        ok(project.orm("migration:down", "--to", project.migrations()[0].stem)).stderr.split()
    )
    assert "down() loses data: drops column author.nickname" in down


async def test_a_failing_migration_names_itself_and_the_statement(project: Project) -> None:
    ok(project.orm("migration:create", "--blank", "--name", "broken"))
    [path] = project.migrations()
    path.write_text(
        path.read_text().replace(
            "    def up(self) -> None:\n        pass",
            "    def up(self) -> None:\n        self.add_sql('SELECT * FROM missing_table')",
        )
    )
    result = project.orm("migration:up")
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert f"migration {path.stem} (up) failed at statement 1 of 1" in message
    assert "SELECT * FROM missing_table" in message
    assert "Traceback" not in result.stderr
    assert path.stem in ok(project.orm("migration:pending")).stdout


async def test_concurrent_up_runs_each_migration_once(project: Project) -> None:
    folder = project.root / "migrations"
    folder.mkdir()
    (folder / "20250101000000_slow.py").write_text(
        "import asyncio\n\n"
        "from orm.migrations import Migration, StepContext\n\n\n"
        "async def slow(ctx: StepContext) -> None:\n"
        "    await asyncio.sleep(1.0)\n"
        "    await ctx.execute('INSERT INTO runs (n) VALUES (1)')\n\n\n"
        "class Slow(Migration):\n"
        "    def up(self) -> None:\n"
        "        self.add_sql('CREATE TABLE runs (n INTEGER)')\n"
        "        self.add_step(slow)\n\n"
        "    def down(self) -> None:\n"
        "        self.add_sql('DROP TABLE runs')\n"
    )
    runs = [
        await asyncio.create_subprocess_exec(
            str(ORM_SCRIPT),
            "migration:up",
            cwd=project.root,
            env=project.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    raw = await asyncio.wait_for(asyncio.gather(*(run.communicate() for run in runs)), 120)
    outputs = [(out.decode(), err.decode()) for out, err in raw]
    assert [run.returncode for run in runs] == [0, 0], outputs
    messages = sorted(" ".join(err.split()) for _, err in outputs)
    assert sum("executed 1 migration(s)" in m for m in messages) == 1
    assert sum("nothing to do" in m for m in messages) == 1
    assert any("waiting up to" in m and "migration lock" in m for m in messages)
    listing = ok(project.orm("migration:list")).stdout
    assert listing.count("20250101000000_slow") == 1


async def test_fresh_and_initial(project: Project) -> None:
    ok(project.orm("schema:create", "--run"))
    created = ok(project.orm("migration:create", "--initial"))
    assert "recorded as executed" in created.stderr
    ok(project.orm("migration:check"))
    fresh = ok(project.orm("migration:fresh"))
    assert "executed 1 migration(s)" in fresh.stderr
    ok(project.orm("migration:check"))


def write_migration(project: Project, name: str, up: str, down: str | None = "pass") -> Path:
    folder = project.root / "migrations"
    folder.mkdir(exist_ok=True)
    source = "from orm.migrations import Migration\n\n\nclass M(Migration):\n"
    source += f"    def up(self) -> None:\n        {up}\n"
    if down is not None:
        source += f"\n    def down(self) -> None:\n        {down}\n"
    path = folder / f"{name}.py"
    path.write_text(source)
    return path


NAMES = ["20250101000000_one", "20250102000000_two", "20250103000000_three"]


def three(project: Project) -> None:
    for number, name in enumerate(NAMES):
        write_migration(
            project,
            name,
            f"self.add_sql('CREATE TABLE t{number} (id INTEGER)')",
            f"self.add_sql('DROP TABLE t{number}')",
        )


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_runs_print_one_line_per_migration(offline_project: Project) -> None:
    three(offline_project)
    up = ok(offline_project.orm("migration:up"))
    assert lines(up.stderr)[:3] == [
        "up   20250101000000_one (1/3)",
        "up   20250102000000_two (2/3)",
        "up   20250103000000_three (3/3)",
    ]
    assert "executed 3 migration(s) in " in up.stderr
    assert "\x1b[" not in up.stderr  # no terminal control codes in a log

    down = ok(offline_project.orm("migration:down", "--to", "0"))
    assert lines(down.stderr)[:3] == [
        "down 20250103000000_three (1/3)",
        "down 20250102000000_two (2/3)",
        "down 20250101000000_one (3/3)",
    ]
    assert "reverted 3 migration(s) in " in down.stderr

    fresh = ok(offline_project.orm("migration:fresh"))
    assert "up   20250103000000_three (3/3)" in lines(fresh.stderr)
    assert "executed 3 migration(s)" in fresh.stderr

    last = ok(offline_project.orm("migration:down", "--to", NAMES[2]))
    assert "nothing to do: no migration was executed after 20250103000000_three" in last.stderr


def test_a_migration_without_down_is_an_error_not_a_traceback(offline_project: Project) -> None:
    write_migration(
        offline_project, NAMES[0], "self.add_sql('CREATE TABLE t (id INTEGER)')", down=None
    )
    ok(offline_project.orm("migration:up"))
    result = offline_project.orm("migration:down")
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert f"migration {NAMES[0]}" in message and "does not define down()" in message
    assert "Traceback" not in result.stderr
    assert NAMES[0] in ok(offline_project.orm("migration:list")).stdout


def test_a_file_with_a_wrong_name_is_reported_not_silently_skipped(
    offline_project: Project,
) -> None:
    write_migration(offline_project, "add_books", "self.add_sql('SELECT 1')")
    for command in ("migration:up", "migration:pending", "migration:list"):
        result = ok(offline_project.orm(command))
        assert "ignored add_books.py" in " ".join(result.stderr.split()), command


def test_check_with_pending_migrations_says_to_run_them(offline_project: Project) -> None:
    ok(offline_project.orm("migration:create", "--name", "first"))
    check = offline_project.orm("migration:check")
    assert check.returncode == 1
    message = " ".join(check.stderr.split())
    assert "1 migration(s) not executed yet" in message and "orm migration:up" in message
    ok(offline_project.orm("migration:up"))
    ok(offline_project.orm("migration:check"))


def test_an_unwritable_migrations_folder_is_an_error_not_a_traceback(
    offline_project: Project,
) -> None:
    (offline_project.root / "migrations").write_text("a file, not a folder")
    result = offline_project.orm("migration:create", "--blank")
    assert result.returncode == 1
    assert "error:" in result.stderr and "Traceback" not in result.stderr
