"""CLI tests: the real ``orm`` console script, in a subprocess, on a temporary project."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.compliance.conftest import database
from tests.migrations.support import own_url, prepare_database, wipe

__all__ = ["database"]

ORM_SCRIPT = Path(sys.executable).parent / "orm"
# ORM_TEST_DB_SUFFIX keeps parallel runs (several checkouts on one server) apart.
DATABASE_NAME = "orm_cli_test" + os.environ.get("ORM_TEST_DB_SUFFIX", "")

SETTINGS = """
import os

from orm.core import Config

config = Config(url=os.environ["APP_DATABASE_URL"], entity_modules=["app.entities"])
"""

ENTITIES_V1 = """
from orm.core import PrimaryKey, Property, entity


@entity
class Author:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str = Property(unique=True)
"""

ENTITIES_V2 = """
from orm.core import ManyToOne, PrimaryKey, Property, entity


@entity
class Author:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str = Property(unique=True)
    nickname: str | None = Property(length=40, default=None)


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    author: Author = ManyToOne(Author)
"""


@dataclass
class Project:
    """A temporary application: ``app/settings.py`` named by ``[tool.orm]`` in pyproject."""

    root: Path
    url: str

    def write_entities(self, source: str) -> None:
        (self.root / "app" / "entities.py").write_text(textwrap.dedent(source).lstrip())

    def env(self, **extra: str) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if k != "ORM_CONFIG"}
        environment.update(APP_DATABASE_URL=self.url, COLUMNS="200")
        environment.update(extra)
        return environment

    def orm(
        self, *arguments: str, cwd: Path | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ORM_SCRIPT), *arguments],
            cwd=cwd or self.root,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def migrations(self) -> list[Path]:
        folder = self.root / "migrations"
        return sorted(folder.glob("*.py")) if folder.is_dir() else []


def make_project(root: Path, url: str) -> Project:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "settings.py").write_text(SETTINGS.lstrip())
    (root / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\n\n[tool.orm]\nconfig = "app.settings:config"\n'
    )
    project = Project(root, url)
    project.write_entities(ENTITIES_V1)
    return project


@pytest.fixture
async def project(database: str, tmp_path: Path) -> AsyncIterator[Project]:
    """A project on an empty database of the CLI tests' own (per configured database)."""
    url = own_url(database, DATABASE_NAME, tmp_path)
    await prepare_database(database, url)
    yield make_project(tmp_path / "project", url)
    await wipe(url)


@pytest.fixture
def offline_project(tmp_path: Path) -> Project:
    """A project on a SQLite file, for tests of the command line itself."""
    return make_project(tmp_path / "project", f"sqlite:///{tmp_path / 'app.db'}")
