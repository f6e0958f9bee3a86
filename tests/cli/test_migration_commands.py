"""The migration commands end to end, per database, through the `orm` console script."""

from __future__ import annotations

import asyncio
import subprocess

from tests.cli.conftest import ENTITIES_V2, ORM_SCRIPT, Project
from tests.migrations.support import snapshot

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
