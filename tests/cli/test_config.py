"""Configuration discovery, --help on every command, usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from orm.cli.app import cli
from orm.core import redact_url as redact
from tests.cli.conftest import Project

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")

COMMANDS = sorted(cli.commands)


def test_every_command_is_there() -> None:
    assert COMMANDS == [
        "debug",
        "generate-entities",
        "migration:check",
        "migration:create",
        "migration:down",
        "migration:fresh",
        "migration:list",
        "migration:pending",
        "migration:up",
        "schema:create",
        "schema:drop",
        "schema:fresh",
        "schema:update",
        "seeder:create",
        "seeder:run",
    ]


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help(offline_project: Project, command: str) -> None:
    result = offline_project.orm(*([command] if command else []), "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: orm" in result.stdout


def test_pyproject_configuration_is_found_from_a_subfolder(offline_project: Project) -> None:
    result = offline_project.orm("debug", cwd=offline_project.root / "app")
    assert result.returncode == 0, result.stderr
    assert "app.settings:config (from [tool.orm] config in" in result.stdout
    assert "app.entities.Author" in result.stdout and "author" in result.stdout
    assert "answers" in result.stdout


def test_config_option_and_environment_variable_win(offline_project: Project) -> None:
    (offline_project.root / "app" / "other.py").write_text(
        "import os\n\nfrom orm.core import Config\n\n\n"
        "def make() -> Config:\n"
        "    return Config(url=os.environ['APP_DATABASE_URL'], entity_modules=['app.entities'])\n"
    )
    by_option = offline_project.orm("--config", "app.other:make", "debug")
    assert by_option.returncode == 0, by_option.stderr
    assert "app.other:make (from --config)" in by_option.stdout
    by_env = offline_project.orm("debug", ORM_CONFIG="app.other:make")
    assert by_env.returncode == 0, by_env.stderr
    assert "ORM_CONFIG" in by_env.stdout


def test_missing_configuration_says_where_it_looked(tmp_path: Path) -> None:
    lonely = Project(tmp_path, "sqlite:///x.db")
    result = lonely.orm("migration:list")
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "no orm configuration found" in message
    assert "--config (not given)" in message and "ORM_CONFIG (not set)" in message
    assert "pyproject.toml" in message


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("app.nowhere:config", "cannot import 'app.nowhere'"),
        ("app.settings:missing", "has no attribute 'missing'"),
        ("app.settings:os", "is a module, not an orm.core.Config"),
        ("app.settings", "is not a module:attribute reference"),
    ],
)
def test_broken_configuration_is_one_clear_message(
    offline_project: Project, reference: str, expected: str
) -> None:
    result = offline_project.orm("--config", reference, "migration:list")
    assert result.returncode == 2
    assert expected in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_with_2(offline_project: Project) -> None:
    assert offline_project.orm("schema:create").returncode == 2  # neither --run nor --dump
    assert offline_project.orm("schema:create", "--run", "--dump").returncode == 2
    assert offline_project.orm("migration:up", "--bogus").returncode == 2
    assert offline_project.orm("no-such-command").returncode == 2
    assert offline_project.orm("migration:create", "--blank", "--initial").returncode == 2


def test_debug_fails_when_the_database_does_not_answer(offline_project: Project) -> None:
    result = offline_project.orm(
        "debug", APP_DATABASE_URL="sqlite:////nonexistent-folder/for/orm/app.db"
    )
    assert result.returncode == 1
    assert "app.settings:config" in result.stdout
    assert "ORM.init failed" in " ".join(result.stderr.split())


def test_a_config_factory_that_raises_is_one_message_with_the_place(
    offline_project: Project,
) -> None:
    (offline_project.root / "app" / "factory.py").write_text(
        "def make():\n    raise RuntimeError('no DATABASE_URL set')\n"
    )
    result = offline_project.orm("--config", "app.factory:make", "migration:list")
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "calling 'app.factory:make' (from --config) to get the Config failed" in message
    assert "RuntimeError: no DATABASE_URL set" in message
    assert f"{offline_project.root / 'app' / 'factory.py'}, line 2" in message
    assert "Traceback" not in result.stderr


def test_an_entity_module_that_fails_names_the_configuration_and_the_line(
    offline_project: Project,
) -> None:
    entities = offline_project.root / "app" / "entities.py"
    entities.write_text(entities.read_text() + "\nbroken = undefined_name\n")
    for command in ("migration:list", "debug"):
        result = offline_project.orm(command)
        assert result.returncode == 1, result.stderr
        message = " ".join(result.stderr.split())
        assert "ORM.init failed with the configuration 'app.settings:config'" in message
        assert "(from [tool.orm] config in" in message
        assert "NameError: name 'undefined_name' is not defined" in message
        assert f"{entities}, line" in message
        assert "Traceback" not in result.stderr


def test_a_pyproject_with_a_wrong_tool_orm_entry_says_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.orm]\nconfig = 3\n")
    result = Project(tmp_path, "sqlite:///x.db").orm("migration:list")
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert '[tool.orm] config is 3, not a "module:attribute" string' in message
    (tmp_path / "pyproject.toml").write_text("tool = 1\n")
    result = Project(tmp_path, "sqlite:///x.db").orm("migration:list")
    assert result.returncode == 2 and "no [tool.orm] section" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_hides_the_password() -> None:
    assert redact("postgresql://app:se/cr@t@db:5432/app") == "postgresql://app:***@db:5432/app"
    assert redact("postgresql://:pw@db/app") == "postgresql://:***@db/app"
    assert redact("mysql://root@db/app?password=x&charset=utf8") == (
        "mysql://root@db/app?password=***&charset=utf8"
    )
    assert redact("sqlite:///app.db") == "sqlite:///app.db"
