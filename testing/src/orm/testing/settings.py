"""What a project tells the pytest plugin: which ``Config``, how the schema is made, how long to
wait for the test's connection (the ``--orm-config`` option and the ``orm_*`` ini settings)."""

from __future__ import annotations

import enum
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orm.core.errors import ConfigurationError
from orm.core.orm import Config

CONFIG_OPTION = "--orm-config"
CONFIG_INI = "orm_config"
SCHEMA_INI = "orm_schema"
WAIT_INI = "orm_connection_wait"
# Seconds a task waits for the test's one connection before it is reported as a deadlock.
DEFAULT_WAIT = 30.0


class SchemaSetup(enum.Enum):
    """How the ``orm`` fixture prepares the database, once per test session."""

    # Drop the entities' tables (collections) and create them from the entities.
    CREATE = "create"
    # Drop every table and run every migration (``Migrator(orm).fresh()``, orm-migrations).
    MIGRATIONS = "migrations"
    # Use the database as it is.
    NONE = "none"


@dataclass(frozen=True)
class PluginSettings:
    config_path: str | None
    schema: SchemaSetup
    connection_wait: float
    rootpath: Path

    @property
    def configured(self) -> bool:
        return bool(self.config_path)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("orm", "orm: transactional tests (orm-testing)")
    group.addoption(
        CONFIG_OPTION,
        dest="orm_config",
        default=None,
        metavar="MODULE:ATTR",
        help="the orm Config (or a function returning one) of the orm/em fixtures; "
        "overrides the orm_config ini setting",
    )
    parser.addini(
        CONFIG_INI,
        "the orm Config (or a function returning one) of the orm/em fixtures, as module:attr",
        default="",
    )
    parser.addini(
        SCHEMA_INI,
        "how the orm fixture prepares the database once per session: "
        "create (default), migrations or none",
        default=SchemaSetup.CREATE.value,
    )
    parser.addini(
        WAIT_INI,
        f"seconds a task of a test waits for the test's connection before the wait is "
        f"reported as a deadlock (default {DEFAULT_WAIT:g})",
        default=str(DEFAULT_WAIT),
    )


def read_settings(config: pytest.Config) -> PluginSettings:
    """The plugin's settings; a value that cannot be used is a ConfigurationError."""
    path = config.getoption("orm_config") or str(config.getini(CONFIG_INI)).strip() or None
    schema_text = str(config.getini(SCHEMA_INI)).strip().lower()
    try:
        schema = SchemaSetup(schema_text)
    except ValueError:
        choices = ", ".join(s.value for s in SchemaSetup)
        raise ConfigurationError(
            f"the {SCHEMA_INI} ini setting is {schema_text!r}; use one of: {choices}"
        ) from None
    wait_text = str(config.getini(WAIT_INI)).strip()
    try:
        wait = float(wait_text)
    except ValueError:
        wait = -1.0
    if wait <= 0:
        raise ConfigurationError(
            f"the {WAIT_INI} ini setting is {wait_text!r}; give a number of seconds above 0"
        )
    return PluginSettings(path, schema, wait, config.rootpath)


def load_config(settings: PluginSettings) -> Config:
    """The ``Config`` that ``module:attr`` names, calling it when it is a function."""
    path = settings.config_path
    if not path:
        raise ConfigurationError(
            f"the orm and em fixtures (orm-testing) need the application's Config: pass "
            f"{CONFIG_OPTION}=module:attr, or set {CONFIG_INI} = module:attr in the pytest "
            f"configuration (pyproject.toml [tool.pytest.ini_options], pytest.ini); "
            f"attr is a Config or a function without arguments returning one"
        )
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(
            f"{CONFIG_OPTION}/{CONFIG_INI} is {path!r}; write it as module:attr, "
            f"e.g. myapp.settings:orm_config"
        )
    module = _import(module_name, settings.rootpath, path)
    try:
        found: Any = getattr(module, attribute)
    except AttributeError:
        raise ConfigurationError(
            f"{CONFIG_OPTION}/{CONFIG_INI} is {path!r}, but module {module_name!r} has no "
            f"attribute {attribute!r}; name the Config object (or the function returning it)"
        ) from None
    if callable(found) and not isinstance(found, Config):
        found = found()
    if not isinstance(found, Config):
        raise ConfigurationError(
            f"{CONFIG_OPTION}/{CONFIG_INI} is {path!r}, which gives a "
            f"{type(found).__name__}, not an orm Config; point it at a Config(...) or at a "
            f"function without arguments returning one"
        )
    return found


def _import(module_name: str, rootpath: Path, path: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise  # the module itself imports something missing: that error says what
    # Not importable from sys.path: try from the project's root directory (pytest's rootdir).
    root = str(rootpath)
    if root not in sys.path:
        sys.path.insert(0, root)
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
    raise ConfigurationError(
        f"{CONFIG_OPTION}/{CONFIG_INI} is {path!r}, but module {module_name!r} cannot be "
        f"imported (not on sys.path, nor under {root}); install the application or set "
        f"pytest's pythonpath ini setting"
    )
