"""seeder:run, seeder:create, migration:fresh --seed and schema:fresh --seed, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orm.core.orm import driver_class_for
from orm.migrations.connection import sql_connection, sql_driver
from tests.cli.conftest import ENTITIES_V2, Project
from tests.cli.test_mongo_cli import mongo_project
from tests.compliance.conftest import unavailable
from tests.databases import database_url, with_database
from tests.migrations.support import snapshot
from tests.mongo_support import drop_database, mongo_client

# The SQL schema and migration commands; test_seeding_on_mongodb covers MongoDB.
pytestmark = pytest.mark.capability("sql")

MONGO_DATABASE_NAME = "orm_test_mseed" + os.environ.get("ORM_TEST_DB_SUFFIX", "")

AUTHOR_SEEDER = """
from typing import Any

from app.entities import Author
from orm.core import EntityManager
from orm.testing import Factory, Seeder


class AuthorFactory(Factory[Author]):
    def definition(self) -> dict[str, Any]:
        return {"name": f"author {self.sequence}", "email": f"a{self.sequence}@example.com"}


class AuthorSeeder(Seeder):
    async def run(self, em: EntityManager) -> None:
        # Not flushed here: the seeder runner flushes after run().
        em.persist(AuthorFactory().make_many(3))
"""

BOOK_SEEDER = """
from app.entities import Author, Book
from orm.core import EntityManager
from orm.testing import Seeder


class BookSeeder(Seeder):
    async def run(self, em: EntityManager) -> None:
        # Sees the authors AuthorSeeder persisted: they were flushed when it returned.
        for author in await em.find(Author, {}):
            em.persist(Book(title=f"by {author.name}", author=author))
"""

DATABASE_SEEDER = """
from orm.core import EntityManager
from orm.testing import Seeder
from seeders.author_seeder import AuthorSeeder
from seeders.book_seeder import BookSeeder


class DatabaseSeeder(Seeder):
    async def run(self, em: EntityManager) -> None:
        await self.call(em, [AuthorSeeder, BookSeeder])
"""

FAILING_SEEDERS = """
from orm.core import EntityManager
from orm.testing import Seeder
from seeders.author_seeder import AuthorFactory, AuthorSeeder


class Broken(Exception):
    pass


class BrokenSeeder(Seeder):
    async def run(self, em: EntityManager) -> None:
        raise Broken("no more ideas")


class ThenBrokenSeeder(Seeder):
    async def run(self, em: EntityManager) -> None:
        await self.call(em, [AuthorSeeder, BrokenSeeder])


class DuplicateSeeder(Seeder):
    async def run(self, em: EntityManager) -> None:
        await self.call(em, [AuthorSeeder])
        AuthorFactory.reset_sequence()  # the same emails again: a unique violation
        await self.call(em, [AuthorSeeder])
"""


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def failed(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    return " ".join(result.stderr.split())


def write_seeders(project: Project, **files: str) -> None:
    folder = project.root / "seeders"
    folder.mkdir(exist_ok=True)
    for name, source in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source).lstrip())


def seeded_project(project: Project) -> Project:
    project.write_entities(ENTITIES_V2)
    write_seeders(
        project,
        author_seeder=AUTHOR_SEEDER,
        book_seeder=BOOK_SEEDER,
        database_seeder=DATABASE_SEEDER,
    )
    return project


async def rows(project: Project, table: str) -> int:
    driver = sql_driver(driver_class_for(project.url).from_url(project.url))
    await driver.connect([])
    try:
        async with sql_connection(driver) as connection:
            result = await connection.execute(f"SELECT COUNT(*) AS n FROM {table}")
            return int(result.rows[0]["n"])
    finally:
        await driver.close()


async def test_seeder_run_runs_the_default_seeder_and_those_it_calls(project: Project) -> None:
    seeded_project(project)
    ok(project.orm("schema:create", "--run"))
    seeding = ok(project.orm("seeder:run"))
    said = " ".join(seeding.stderr.split())
    assert said.index("seeding DatabaseSeeder") < said.index("seeding AuthorSeeder")
    assert said.index("seeding AuthorSeeder") < said.index("seeding BookSeeder")
    assert "seeded the database: 3 seeder(s)" in said
    assert (await rows(project, "author"), await rows(project, "book")) == (3, 3)

    ok(project.orm("seeder:run", "--class", "BookSeeder"))
    assert await rows(project, "book") == 6
    ok(project.orm("seeder:run", "--class", "seeders.book_seeder:BookSeeder"))
    ok(project.orm("seeder:run", "--class", "seeders.book_seeder.BookSeeder"))
    assert await rows(project, "book") == 12


async def test_a_failing_seeder_leaves_nothing_behind(project: Project) -> None:
    seeded_project(project)
    write_seeders(project, failing=FAILING_SEEDERS)
    ok(project.orm("schema:create", "--run"))
    said = failed(project.orm("seeder:run", "--class", "ThenBrokenSeeder"), 1)
    assert "BrokenSeeder failed: Broken: no more ideas" in said
    assert "failing.py" in said and "rolled back" in said
    said = failed(project.orm("seeder:run", "--class", "DuplicateSeeder"), 1)
    assert "author" in said.lower() and "rolled back" in said
    assert await rows(project, "author") == 0  # AuthorSeeder's rows went with the rest


async def test_schema_fresh_and_migration_fresh_seed(project: Project) -> None:
    seeded_project(project)
    ok(project.orm("schema:create", "--run"))
    ok(project.orm("seeder:run"))
    fresh = ok(project.orm("schema:fresh", "--run", "--seed"))
    assert "schema recreated" in fresh.stderr and "seeding BookSeeder" in fresh.stderr
    assert await rows(project, "author") == 3  # dropped, created, seeded once

    ok(project.orm("schema:drop", "--run"))
    ok(project.orm("migration:create", "--initial"))
    ok(project.orm("migration:up"))
    ok(project.orm("seeder:run"))
    ok(project.orm("migration:fresh", "--seed", "--seeder", "AuthorSeeder"))
    assert (await rows(project, "author"), await rows(project, "book")) == (3, 0)
    assert "orm_migrations" in await snapshot(project.url)


def test_seed_options_that_cannot_work_are_usage_errors(offline_project: Project) -> None:
    said = failed(offline_project.orm("schema:fresh", "--dump", "--seed"), 2)
    assert "--seed runs a seeder, which --dump cannot: use --run" in said
    said = failed(offline_project.orm("migration:fresh", "--seeder", "X"), 2)
    assert "pass --seed too" in said
    assert "--seed" not in ok(offline_project.orm("schema:create", "--help")).stdout


def test_seeder_run_names_what_it_could_not_find(offline_project: Project) -> None:
    ok(offline_project.orm("schema:create", "--run"))
    said = failed(offline_project.orm("seeder:run"), 1)
    assert "no seeder class 'DatabaseSeeder' (Config.default_seeder) found" in said
    assert "orm seeder:create DatabaseSeeder" in said
    write_seeders(offline_project, other="NotASeeder = 1\n")
    said = failed(offline_project.orm("seeder:run", "--class", "NotASeeder"), 1)
    assert "NotASeeder in" in said and "is not a seeder" in said
    said = failed(offline_project.orm("seeder:run", "--class", "nowhere:Seeder"), 1)
    assert "cannot import 'nowhere'" in said


def test_seeder_create_writes_a_seeder_from_the_template(offline_project: Project) -> None:
    created = ok(offline_project.orm("seeder:create", "DatabaseSeeder")).stdout.strip()
    assert created == str(offline_project.root / "seeders" / "database_seeder.py")
    source = (offline_project.root / "seeders" / "database_seeder.py").read_text()
    assert "class DatabaseSeeder(Seeder):" in source
    assert "async def run(self, em: EntityManager) -> None:" in source
    user = ok(offline_project.orm("seeder:create", "HTTPUser")).stdout.strip()
    assert user.endswith("http_user_seeder.py")
    assert "class HTTPUserSeeder(Seeder):" in (offline_project.root / "seeders" / user).read_text()

    said = failed(offline_project.orm("seeder:create", "DatabaseSeeder"), 1)
    assert "database_seeder.py already exists" in said
    said = failed(offline_project.orm("seeder:create", "user-seeder"), 1)
    assert "'user-seeder' is not a seeder class name" in said

    # The written seeders run as they are (they persist nothing).
    ok(offline_project.orm("schema:create", "--run"))
    assert "seeding DatabaseSeeder" in ok(offline_project.orm("seeder:run")).stderr
    ok(offline_project.orm("seeder:run", "--class", "HTTPUser" + "Seeder"))


@pytest.fixture
async def mongo_seeded(tmp_path: Path) -> AsyncIterator[Project]:
    """A seeded project on a Mongo database of its own (dropped before and after)."""
    url = with_database(database_url("mongo"), MONGO_DATABASE_NAME)
    try:
        await drop_database(url)
    except ImportError as exc:
        unavailable("mongo", f"pymongo is not installed: {exc}")
    except Exception as exc:  # the server does not answer
        unavailable("mongo", f"{type(exc).__name__}: {exc}")
    project = mongo_project(tmp_path / "project", url)
    write_seeders(
        project,
        author_seeder=AUTHOR_SEEDER,
        book_seeder=BOOK_SEEDER,
        database_seeder=DATABASE_SEEDER,
    )
    yield project
    await drop_database(url)


async def documents(url: str, collection: str) -> int:
    async with mongo_client(url) as client:
        return int(await client.get_default_database()[collection].count_documents({}))


async def test_seeding_on_mongodb(mongo_seeded: Project) -> None:
    ok(mongo_seeded.orm("schema:create", "--run"))
    assert "seeding BookSeeder" in ok(mongo_seeded.orm("seeder:run")).stderr
    assert await documents(mongo_seeded.url, "book") == 3
    fresh = ok(mongo_seeded.orm("schema:fresh", "--run", "--seed", "--seeder", "AuthorSeeder"))
    assert "seeding AuthorSeeder" in fresh.stderr
    url = mongo_seeded.url
    assert (await documents(url, "author"), await documents(url, "book")) == (3, 0)
