"""Seeder classes for the CLI: finding one by name in ``Config.seeders_path``, writing a new one.

A seeder file is ``<seeders_path>/<snake_name>.py`` holding the class (``DatabaseSeeder`` in
``database_seeder.py``). The folder is imported as a package from the project root when it
lies inside the project (``seeders.user_seeder``), so seeders import each other the same way.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from orm.cli.config import LoadedConfig
from orm.core.errors import ConfigurationError
from orm.migrations.runner import describe_exception

if TYPE_CHECKING:
    from orm.testing.seeding import Seeder

CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9]*\Z")

TEMPLATE = '''"""{name}: {purpose}"""

from orm.core import EntityManager
from orm.testing import Seeder


class {name}(Seeder):
    async def run(self, em: EntityManager) -> None:
        # Persist entities (e.g. await AuthorFactory().create_many(em, 10)), or call other
        # seeders: await self.call(em, [UserSeeder]). The changes are flushed after run().
        pass
'''


class SeederNotFoundError(ConfigurationError):
    """No seeder class by that name (the message says where the CLI looked)."""


def seeder_base() -> type[Seeder]:
    """``orm.testing.Seeder``; imported here so that orm-cli works without orm-testing."""
    try:
        from orm.testing.seeding import Seeder
    except ImportError as exc:
        raise ConfigurationError(
            f"seeders need the orm-testing package, which cannot be imported ({exc}): "
            f"pip install orm-testing"
        ) from exc
    return Seeder


def seeders_folder(loaded: LoadedConfig) -> Path:
    path = Path(loaded.config.seeders_path)
    return path if path.is_absolute() else loaded.root / path


def snake_case(class_name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", class_name).lower()


def class_name_for(name: str) -> str:
    """``User`` or ``UserSeeder`` -> ``UserSeeder``; anything else is a ConfigurationError."""
    if not CLASS_NAME.match(name):
        raise ConfigurationError(
            f"{name!r} is not a seeder class name: use a CamelCase Python name such as "
            f"UserSeeder (Seeder is added when missing)"
        )
    return name if name.endswith("Seeder") else f"{name}Seeder"


def module_name_for(path: Path, root: Path) -> str:
    """The import name of a seeder file: dotted from the project root, else from its folder."""
    try:
        relative = path.with_suffix("").relative_to(root)
    except ValueError:
        relative = None
    if relative is not None and all(part.isidentifier() for part in relative.parts):
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        return ".".join(relative.parts)
    parent = str(path.parent.parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    return f"{path.parent.name}.{path.stem}"


def _import(module_name: str, loaded: LoadedConfig, what: str) -> object:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        raise SeederNotFoundError(
            f"cannot import {module_name!r} ({what}): {describe_exception(exc, loaded.root)}"
        ) from exc


def _checked(value: object, described: str) -> type[Seeder]:
    base = seeder_base()
    if not (isinstance(value, type) and issubclass(value, base)):
        raise SeederNotFoundError(
            f"{described} is not a seeder: it must be a subclass of orm.testing.Seeder"
        )
    return value


def find_seeder(loaded: LoadedConfig, name: str | None) -> type[Seeder]:
    """The seeder named ``module:Class``, ``module.Class`` or ``Class`` (in the seeders folder).

    No name: ``Config.default_seeder``.
    """
    wanted = name or loaded.config.default_seeder
    if ":" in wanted or "." in wanted:
        module_name, _, attribute = (
            wanted.partition(":") if ":" in wanted else wanted.rpartition(".")
        )
        module = _import(module_name, loaded, f"named by --class {wanted}")
        if not hasattr(module, attribute):
            raise SeederNotFoundError(f"{module_name} has no seeder class {attribute!r}")
        return _checked(getattr(module, attribute), f"{wanted}")
    folder = seeders_folder(loaded)
    files = sorted(folder.glob("*.py")) if folder.is_dir() else []
    own_file = folder / f"{snake_case(wanted)}.py"
    # Its own file first (as seeder:create names it), then every other file of the folder.
    for path in sorted(files, key=lambda p: p != own_file):
        module = _import(module_name_for(path, loaded.root), loaded, f"the seeder file {path}")
        if hasattr(module, wanted):
            return _checked(getattr(module, wanted), f"{wanted} in {path}")
    looked = f"{len(files)} file(s) in {folder}" if files else f"{folder} (no .py files)"
    default = "" if name else " (Config.default_seeder)"
    raise SeederNotFoundError(
        f"no seeder class {wanted!r}{default} found; looked in {looked}. Create it with "
        f"`orm seeder:create {wanted}`, set Config.seeders_path to the folder of your seeders, "
        f"or name it with --class module:Class"
    )


def write_seeder(loaded: LoadedConfig, name: str) -> Path:
    """Write a new seeder file from the template; an existing file is never overwritten."""
    class_name = class_name_for(name)
    folder = seeders_folder(loaded)
    path = folder / f"{snake_case(class_name)}.py"
    if path.exists():
        raise ConfigurationError(
            f"{path} already exists: edit it, or choose another name for the new seeder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    default = class_name == loaded.config.default_seeder
    purpose = (
        "the seeder `orm seeder:run` runs (it may call the others)."
        if default
        else f"run it with `orm seeder:run --class {class_name}`."
    )
    path.write_text(TEMPLATE.format(name=class_name, purpose=purpose), encoding="utf-8")
    return path
