"""The ``orm`` command on a MongoDB project: ``schema:*`` work, migrations say they are SQL-only.

The project's database is ``orm_test_mcl`` + ``ORM_TEST_DB_SUFFIX`` on the server of
``ORM_MONGO_URL``; it is dropped before and after each test. Without a server the tests skip
(they fail under ``ORM_REQUIRE_DATABASES=1``), except the one that shows the migration
commands stop before connecting.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Project, make_project
from tests.compliance.conftest import unavailable
from tests.databases import database_url, with_database
from tests.mongo_support import drop_database, mongo_client

DATABASE_NAME = "orm_test_mcl" + os.environ.get("ORM_TEST_DB_SUFFIX", "")

ENTITIES = """
from orm.core import ManyToOne, PrimaryKey, Property, entity


@entity
class Author:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str = Property(unique=True)


@entity
class Book:
    id: int = PrimaryKey()
    title: str = Property(index=True)
    author: Author = ManyToOne(Author)
"""

MIGRATION_COMMANDS = [
    ("migration:create", "--name", "add books"),
    ("migration:create", "--initial"),
    ("migration:up",),
    ("migration:down",),
    ("migration:list",),
    ("migration:pending",),
    ("migration:check",),
    ("migration:fresh",),
]

SQL_ONLY_ADVICE = "`orm schema:update --run`"


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one-line error of a command that stopped with exit code 2 (no traceback)."""
    assert result.returncode == 2, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return " ".join(result.stderr.split())


def mongo_project(root: Path, url: str) -> Project:
    if importlib.util.find_spec("orm.mongo") is None:
        unavailable("mongo", "the orm-mongo driver is not installed")
    project = make_project(root, url)
    project.write_entities(ENTITIES)
    return project


async def collections(url: str) -> dict[str, dict[str, Any]]:
    """``{collection: {index name: index info}}`` of the database ``url`` names."""
    async with mongo_client(url) as client:
        database = client.get_default_database()
        return {
            name: dict(await database[name].index_information())
            for name in await database.list_collection_names()
        }


@pytest.fixture
async def project(tmp_path: Path) -> AsyncIterator[Project]:
    """A project on an empty database of its own on the Mongo server."""
    url = with_database(database_url("mongo"), DATABASE_NAME)
    try:
        await drop_database(url)
    except ImportError as exc:
        unavailable("mongo", f"pymongo is not installed: {exc}")
    except Exception as exc:  # the server does not answer
        unavailable("mongo", f"{type(exc).__name__}: {exc}")
    yield mongo_project(tmp_path / "project", url)
    await drop_database(url)


async def test_create_dump_prints_the_commands_and_changes_nothing(project: Project) -> None:
    dumped = ok(project.orm("schema:create", "--dump")).stdout.splitlines()
    assert "db.createCollection('author')" in dumped
    assert "db.createCollection('book')" in dumped
    assert any("'author_email_unique'" in line and "unique: true" in line for line in dumped)
    assert any("'book_title_index'" in line for line in dumped)
    assert await collections(project.url) == {}


async def test_create_update_fresh_and_drop_run(project: Project) -> None:
    assert "schema created on mongodb" in ok(project.orm("schema:create", "--run")).stderr
    schema = await collections(project.url)
    assert {"author", "book"} <= set(schema)
    assert schema["author"]["author_email_unique"]["unique"] is True
    assert {"book_title_index", "book_author_id_index"} <= set(schema["book"])

    ok(project.orm("schema:update", "--run"))  # adds nothing, breaks nothing
    assert await collections(project.url) == schema
    update = ok(project.orm("schema:update", "--dump"))
    assert "db.createCollection('book')" in update.stdout
    assert "creates only what is missing" in " ".join(update.stderr.split())

    ok(project.orm("schema:fresh", "--run"))
    assert await collections(project.url) == schema

    assert "schema dropped on mongodb" in ok(project.orm("schema:drop", "--run")).stderr
    assert not {"author", "book"} & set(await collections(project.url))


async def test_what_mongo_cannot_show_or_do_is_refused(project: Project) -> None:
    ok(project.orm("schema:create", "--run"))
    schema = await collections(project.url)
    for command in ("schema:drop", "schema:fresh"):
        message = refused(project.orm(command, "--dump"))
        assert f"{command} --dump is SQL-only" in message
        assert f"`orm {command} --run`" in message
    message = refused(project.orm("schema:update", "--run", "--drop"))
    assert "--drop is SQL-only" in message and "`orm schema:fresh --run`" in message
    assert await collections(project.url) == schema


@pytest.mark.parametrize("command", MIGRATION_COMMANDS, ids=lambda c: " ".join(c))
async def test_migration_commands_say_they_are_sql_only(
    project: Project, command: tuple[str, ...]
) -> None:
    message = refused(project.orm(*command))
    assert "migrations are SQL-only: the mongodb driver (MongoDriver)" in message
    assert SQL_ONLY_ADVICE in message
    assert project.migrations() == []
    assert not (project.root / "migrations").exists()
    assert await collections(project.url) == {}


def test_migration_commands_stop_before_connecting(tmp_path: Path) -> None:
    # Nothing listens on port 9: the refusal comes from the configuration alone.
    project = mongo_project(tmp_path / "project", "mongodb://127.0.0.1:9/orm_test_mcl_nowhere")
    message = refused(project.orm("migration:up"))
    assert "migrations are SQL-only" in message and SQL_ONLY_ADVICE in message


async def test_the_entity_generator_is_sql_only(project: Project) -> None:
    message = refused(project.orm("generate-entities", "--save"))
    assert "generate-entities is SQL-only" in message and "mongodb" in message
    assert SQL_ONLY_ADVICE in message
    assert not (project.root / "entities").exists()


async def test_debug_reports_the_database_without_migrations(project: Project) -> None:
    report = ok(project.orm("debug")).stdout
    assert "migrations:    not available on mongodb" in report
    assert "MongoDriver (mongodb)" in report
    assert "database:      answers" in report
    assert "executed" not in report
    assert "app.entities.Author" in report
