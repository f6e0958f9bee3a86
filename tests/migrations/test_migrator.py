"""The migrator: bookkeeping, --to, failures, data steps, dialect guard, fresh, --initial."""

from __future__ import annotations

from pathlib import Path

import pytest

from orm.migrations import MigrationFailedError, MigrationFileError, Migrator, StepContext
from tests.migrations.conftest import MakeOrm
from tests.migrations.models import version_1
from tests.migrations.support import snapshot

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")


def write(folder: Path, name: str, up: list[str], down: list[str], extra: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["from orm.migrations import Migration", "", "", "class M(Migration):"]
    lines += [f"    {line}" for line in extra.splitlines()]
    lines += ["    def up(self) -> None:"]
    lines += [f"        self.add_sql({sql!r})" for sql in up] or ["        pass"]
    lines += ["", "    def down(self) -> None:"]
    lines += [f"        self.add_sql({sql!r})" for sql in down] or ["        pass"]
    (folder / f"{name}.py").write_text("\n".join(lines) + "\n")


def three_migrations(folder: Path) -> list[str]:
    names = ["20250101000000_one", "20250102000000_two", "20250103000000_three"]
    for number, name in enumerate(names):
        table = f"t{number}"
        write(
            folder,
            name,
            [f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)"],
            [f"DROP TABLE {table}"],
        )
    return names


async def test_up_to_down_to_and_the_status_list(make_orm: MakeOrm) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    names = three_migrations(migrator.folder)

    assert (await migrator.up(to="20250102")).names == names[:2]
    status = await migrator.status()
    assert [(s.name, s.executed) for s in status] == [
        (names[0], True),
        (names[1], True),
        (names[2], False),
    ]
    assert all(s.executed_at is not None for s in status[:2])
    assert [f.name for f in await migrator.pending()] == [names[2]]

    assert (await migrator.up()).names == [names[2]]
    assert (await migrator.up()).names == []
    assert (await migrator.down(to=names[0])).names == [names[2], names[1]]
    assert [m.name for m in await migrator.executed()] == [names[0]]
    assert (await migrator.down(to="0")).names == [names[0]]
    assert await migrator.executed() == []


async def test_an_unknown_target_is_an_error_naming_the_known_ones(make_orm: MakeOrm) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    three_migrations(migrator.folder)
    with pytest.raises(MigrationFileError, match=r"no migration is named 'nope'.*three"):
        await migrator.up(to="nope")


async def test_a_failed_migration_stops_the_run_and_is_not_recorded(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    write(
        migrator.folder, "20250101000000_good", ["CREATE TABLE good (id INTEGER PRIMARY KEY)"], []
    )
    bad = "INSERT INTO no_such_table (id) VALUES (1)"
    write(
        migrator.folder,
        "20250102000000_bad",
        ["CREATE TABLE partial (id INTEGER PRIMARY KEY)", bad],
        [],
    )
    write(migrator.folder, "20250103000000_later", ["CREATE TABLE later (id INTEGER)"], [])

    with pytest.raises(MigrationFailedError) as caught:
        await migrator.up()
    error = caught.value
    assert error.migration == "20250102000000_bad"
    assert error.statement == bad
    message = str(error)
    assert "20250102000000_bad" in message and bad in message and "statement 2 of 2" in message
    assert [m.name for m in await migrator.executed()] == ["20250101000000_good"]
    tables = set(await snapshot(db_url))
    assert "later" not in tables
    if orm.driver.platform.transactional_ddl:
        assert "partial" not in tables  # rolled back with the migration
        assert "rolled back" in message
    else:
        assert "partial" in tables  # MariaDB commits each DDL statement
        assert "cannot roll back DDL" in message


async def test_data_steps_run_in_the_migration_transaction(make_orm: MakeOrm) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    migrator.folder.mkdir(parents=True)
    (migrator.folder / "20250101000000_seed.py").write_text(
        "from orm.migrations import Migration, StepContext\n\n\n"
        "async def seed(ctx: StepContext) -> None:\n"
        "    for n in (1, 2, 3):\n"
        "        await ctx.execute('INSERT INTO counter (n) VALUES (:n)', {'n': n})\n\n\n"
        "class Seed(Migration):\n"
        "    async def up(self) -> None:\n"
        "        self.add_sql('CREATE TABLE counter (n INTEGER)')\n"
        "        self.add_step(seed)\n\n"
        "    def down(self) -> None:\n"
        "        self.add_sql('DROP TABLE counter')\n"
    )
    await migrator.up()
    result = await orm.em.fork().execute("SELECT SUM(n) AS total FROM counter")
    assert int(result.rows[0]["total"]) == 6
    assert StepContext.__name__ == "StepContext"


async def test_a_migration_generated_for_another_database_is_refused(make_orm: MakeOrm) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    other = "postgresql" if migrator.dialect != "postgresql" else "sqlite"
    write(migrator.folder, "20250101000000_other", ["SELECT 1"], [], extra=f"dialect = {other!r}")
    with pytest.raises(MigrationFileError, match=f"generated for {other}"):
        await migrator.up()
    assert await migrator.executed() == []


async def test_a_broken_migration_file_is_reported_with_its_path(make_orm: MakeOrm) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    migrator.folder.mkdir(parents=True)
    path = migrator.folder / "20250101000000_broken.py"
    path.write_text("this is not python\n")
    with pytest.raises(MigrationFileError, match="failed to import") as caught:
        await migrator.up()
    assert str(path) in str(caught.value)


async def test_blank_migration_and_pending_check_before_create(make_orm: MakeOrm) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    blank = await migrator.create("hand written", blank=True)
    assert blank is not None and blank.diff is None
    assert "class Migration" in blank.path.read_text()
    with pytest.raises(Exception, match="not executed yet"):
        await migrator.create()
    await migrator.up()
    created = await migrator.create()
    assert created is not None and created.name > blank.name


async def test_initial_on_an_existing_schema_is_recorded_not_run(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(version_1())
    await orm.schema.create()
    migrator = Migrator(orm)
    created = await migrator.create(initial=True)
    assert created is not None and created.recorded
    assert created.name.endswith("_initial")
    assert [m.name for m in await migrator.executed()] == [created.name]
    with pytest.raises(Exception, match="already has migrations"):
        await migrator.create(initial=True)


async def test_fresh_drops_everything_and_runs_every_migration(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    await migrator.create()
    await migrator.up()
    await orm.em.fork().execute("CREATE TABLE stray (id INTEGER)")
    result = await migrator.fresh()
    assert len(result.names) == 1
    tables = set(await snapshot(db_url))
    assert "stray" not in tables and {"author", "book", "orm_migrations"} <= tables


ENTITY_STEP = """
from orm.migrations import Migration, StepContext


async def seed(ctx: StepContext) -> None:
    author_class = next(cls for cls in ctx.orm.metadata if cls.__name__ == "Author")
    ctx.em.persist(author_class(name="Seeded", email="seeded@example.com"))
    await ctx.em.flush()
    found = await ctx.em.find(author_class, dict(email="seeded@example.com"))
    assert len(found) == 1
    FAILURE


class Seed(Migration):
    def up(self) -> None:
        self.add_step(seed)

    def down(self) -> None:
        self.add_sql("DELETE FROM author")
"""


@pytest.mark.parametrize("fails", [False, True])
async def test_data_steps_can_use_an_entity_manager(make_orm: MakeOrm, fails: bool) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    await migrator.create()
    step = ENTITY_STEP.replace("FAILURE", "raise RuntimeError('step failed')" if fails else "")
    (migrator.folder / "29990101000000_seed.py").write_text(step)
    if fails:
        with pytest.raises(MigrationFailedError, match="step failed"):
            await migrator.up()
    else:
        await migrator.up()
    rows = await orm.em.fork().execute("SELECT name FROM author")
    assert [r["name"] for r in rows.rows] == ([] if fails else ["Seeded"])


def write_source(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(source)
    return path


NO_DOWN = """
from orm.migrations import Migration


class NoDown(Migration):
    def up(self) -> None:
        self.add_sql("CREATE TABLE no_down (id INTEGER PRIMARY KEY)")
"""


async def test_a_migration_without_down_stops_the_run_before_anything_is_reverted(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    write_source(migrator.folder, "20250101000000_no_down", NO_DOWN)
    write(
        migrator.folder,
        "20250102000000_fine",
        ["CREATE TABLE fine (id INTEGER PRIMARY KEY)"],
        ["DROP TABLE fine"],
    )
    await migrator.up()
    with pytest.raises(MigrationFileError) as caught:
        await migrator.down(to="0")
    message = str(caught.value)
    assert "migration 20250101000000_no_down" in message
    assert "does not define down()" in message and "no migration was run" in message
    # the newer migration, whose down() works, was not reverted either
    assert [m.name for m in await migrator.executed()] == [
        "20250101000000_no_down",
        "20250102000000_fine",
    ]
    assert {"no_down", "fine"} <= set(await snapshot(db_url))


async def test_a_broken_later_migration_stops_the_run_before_the_first_one_runs(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    write(migrator.folder, "20250101000000_good", ["CREATE TABLE good (id INTEGER)"], [])
    path = write_source(
        migrator.folder,
        "20250102000000_raises",
        "from orm.migrations import Migration\n\n\n"
        "class Raises(Migration):\n"
        "    def up(self) -> None:\n"
        "        self.add_sql('SELECT 1')\n"
        "        raise ValueError('a bug in up()')\n",
    )
    with pytest.raises(MigrationFileError) as caught:
        await migrator.up()
    message = str(caught.value)
    assert "migration 20250102000000_raises" in message and "its up() failed" in message
    assert "ValueError: a bug in up()" in message
    assert f"(at {path}, line 7)" in message  # where in the file
    assert "no migration was run" in message
    assert await migrator.executed() == []
    assert "good" not in set(await snapshot(db_url))


async def test_fresh_loads_every_migration_before_dropping_anything(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    await orm.em.fork().execute("CREATE TABLE keep_me (id INTEGER)")
    write_source(migrator.folder, "20250101000000_broken", "this is not python\n")
    with pytest.raises(MigrationFileError, match="failed to import"):
        await migrator.fresh()
    assert "keep_me" in set(await snapshot(db_url))


async def test_a_failing_bookkeeping_write_is_reported_and_not_recorded(
    make_orm: MakeOrm, db_url: str
) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    # The migration removes the bookkeeping table, so recording it fails after its statements.
    write(
        migrator.folder,
        "20250101000000_drops_bookkeeping",
        ["CREATE TABLE made (id INTEGER)", "DROP TABLE orm_migrations"],
        [],
    )
    with pytest.raises(MigrationFailedError) as caught:
        await migrator.up()
    error = caught.value
    assert error.migration == "20250101000000_drops_bookkeeping" and error.statement is None
    message = str(error)
    assert "its 2 statement(s) succeeded, then recording it in orm_migrations failed" in message
    tables = set(await snapshot(db_url))
    if orm.driver.platform.transactional_ddl:
        assert "rolled back" in message
        assert "made" not in tables and "orm_migrations" in tables
        assert await migrator.executed() == []
    else:
        assert "INSERT INTO orm_migrations (name, executed_at) VALUES" in message
        assert "made" in tables


async def test_down_to_a_migration_that_is_not_executed_says_so(make_orm: MakeOrm) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    names = three_migrations(migrator.folder)
    await migrator.up(to=names[0])
    with pytest.raises(MigrationFileError, match=f"migration {names[2]} is not executed"):
        await migrator.down(to="20250103")
    assert [m.name for m in await migrator.executed()] == [names[0]]


async def test_files_not_named_like_migrations_are_listed_as_stray(make_orm: MakeOrm) -> None:
    orm = await make_orm(version_1())
    migrator = Migrator(orm)
    names = three_migrations(migrator.folder)
    for name in ("add_index.py", "__init__.py", "_helpers.py", "notes.txt", "2025_x.py"):
        (migrator.folder / name).write_text("")
    assert [p.name for p in migrator.stray_files()] == ["2025_x.py", "add_index.py"]
    assert [f.name for f in migrator.files()] == names
