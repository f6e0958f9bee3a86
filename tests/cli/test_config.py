"""Configuration discovery, --help on every command, usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from orm.cli.app import cli
from tests.cli.conftest import Project

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
