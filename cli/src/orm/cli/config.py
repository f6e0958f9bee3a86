"""Finding the application's configuration: ``--config``, ``ORM_CONFIG``, ``[tool.orm]``.

The reference is ``module:attribute``; the attribute is an :class:`orm.core.Config` or a
callable (possibly async) returning one. A relative ``migrations_path`` and a relative SQLite
file (``sqlite:///app.db``) are taken relative to the project directory: the folder of the
pyproject.toml that named the configuration, else the current directory.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orm.core import ORM, Config
from orm.core.errors import ConfigurationError, ORMError
from orm.core.urls import redact_url
from orm.migrations.runner import describe_exception

ENVIRONMENT_VARIABLE = "ORM_CONFIG"


class ConfigNotFoundError(ConfigurationError):
    """No configuration reference was found, or it does not lead to a Config."""


class StartError(ConfigurationError):
    """``ORM.init`` failed with the configuration found (named in the message)."""


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    reference: str
    source: str
    root: Path


def _nearest_pyprojects(start: Path) -> list[Path]:
    return [
        d / "pyproject.toml" for d in (start, *start.parents) if (d / "pyproject.toml").is_file()
    ]


def find_reference(option: str | None, cwd: Path) -> tuple[str, str, Path]:
    """(reference, its source, project root); ConfigNotFoundError says where it looked."""
    if option:
        return option, "--config", cwd
    from_env = os.environ.get(ENVIRONMENT_VARIABLE)
    if from_env:
        return from_env, f"the {ENVIRONMENT_VARIABLE} environment variable", cwd
    looked = ["--config (not given)", f"{ENVIRONMENT_VARIABLE} (not set)"]
    pyprojects = _nearest_pyprojects(cwd)
    for path in pyprojects:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigNotFoundError(
                f"{path} cannot be read: {exc}; fix it, or name the configuration with --config "
                f"module:attribute"
            ) from exc
        tool = data.get("tool")
        section = tool.get("orm") if isinstance(tool, dict) else None
        reference = section.get("config") if isinstance(section, dict) else None
        if isinstance(reference, str) and reference:
            return reference, f"[tool.orm] config in {path}", path.parent
        if section is None:
            looked.append(f"{path} (no [tool.orm] section)")
        elif reference is None:
            looked.append(f"{path} ([tool.orm] has no config key)")
        else:
            looked.append(
                f'{path} ([tool.orm] config is {reference!r}, not a "module:attribute" string)'
            )
        break  # only the nearest pyproject.toml counts
    if not pyprojects:
        looked.append(f"pyproject.toml (none in {cwd} or its parents)")
    raise ConfigNotFoundError(
        "no orm configuration found. Looked at: "
        + "; ".join(looked)
        + ". Point to your Config with --config module:attribute, ORM_CONFIG=module:attribute, "
        'or [tool.orm] config = "module:attribute" in pyproject.toml'
    )


async def load_config(option: str | None, cwd: Path | None = None) -> LoadedConfig:
    here = (cwd or Path.cwd()).resolve()
    reference, source, root = find_reference(option, here)
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigNotFoundError(
            f"{reference!r} (from {source}) is not a module:attribute reference, e.g. "
            f"'app.orm_config:config'"
        )
    for folder in (str(root), str(here)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    named = f"{reference!r} (from {source})"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        missing = isinstance(exc, ModuleNotFoundError) and (
            exc.name == module_name or module_name.startswith(f"{exc.name}.")
        )
        advice = (
            f"no such module on the import path (the project folder {root} is on it); check the "
            f"reference or run orm from the project"
            if missing
            else "fix the module"
        )
        raise ConfigNotFoundError(
            f"cannot import {module_name!r} named by {named}: "
            f"{describe_exception(exc, root)}; {advice}"
        ) from exc
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise ConfigNotFoundError(
                f"{module_name} has no attribute {attribute!r} (named by {named})"
            )
        value = getattr(value, part)
    if callable(value) and not isinstance(value, Config):
        try:
            value = value()
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            raise ConfigNotFoundError(
                f"calling {named} to get the Config failed: {describe_exception(exc, root)}"
            ) from exc
    if not isinstance(value, Config):
        raise ConfigNotFoundError(
            f"{named} is a {type(value).__name__}, not an orm.core.Config "
            f"(or a callable returning one)"
        )
    return LoadedConfig(_anchored(value, root), reference, source, root)


def _anchored(config: Config, root: Path) -> Config:
    """Relative paths (the migrations folder, a SQLite file) taken from the project root."""
    changes: dict[str, Any] = {}
    path = Path(config.migrations_path)
    if not path.is_absolute():
        changes["migrations_path"] = str(root / path)
    url = config.url or ""
    prefix = "sqlite:///"
    rest = url[len(prefix) :]
    if url.startswith(prefix) and rest and not rest.startswith("/") and rest != ":memory:":
        changes["url"] = f"{prefix}{root / rest}"
    return dataclasses.replace(config, **changes) if changes else config


async def start_orm(loaded: LoadedConfig) -> ORM:
    """``ORM.init(config)``; a failure names the configuration and where it came from."""
    try:
        return await ORM.init(loaded.config)
    except ORMError as exc:
        detail = str(exc)
    except Exception as exc:
        detail = describe_exception(exc, loaded.root)
    raise StartError(
        redact_url(
            f"ORM.init failed with the configuration {loaded.reference!r} (from "
            f"{loaded.source}): {detail}"
        )
    )
