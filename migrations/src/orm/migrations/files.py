"""Migration files: ``<UTC timestamp>_<slug>.py`` in the migrations folder, one class each."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orm.migrations.errors import MigrationFileError
from orm.migrations.migration import Migration

FILE_PATTERN = re.compile(r"^(\d{14})_([a-z0-9_]+)\.py$")
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"


@dataclass(frozen=True)
class MigrationFile:
    """A migration found in the folder: its name (the file stem) and path."""

    name: str
    path: Path

    def load(self) -> type[Migration]:
        """Import the file and return its :class:`Migration` subclass."""
        module_name = f"_orm_migration_{self.name}"
        spec = importlib.util.spec_from_file_location(module_name, self.path)
        if spec is None or spec.loader is None:
            raise MigrationFileError(f"cannot load migration file {self.path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise MigrationFileError(
                f"migration file {self.path} failed to import: {type(exc).__name__}: {exc}; "
                f"fix the file (or delete it if it was never run)"
            ) from exc
        found = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Migration)
            and value is not Migration
            and value.__module__ == module_name
        ]
        if len(found) != 1:
            what = "no subclass" if not found else f"{len(found)} subclasses"
            raise MigrationFileError(
                f"migration file {self.path} defines {what} of orm.migrations.Migration; "
                f"a migration file must define exactly one"
            )
        return found[0]

    def instantiate(self) -> Migration:
        return self.load()(self.name)


def slugify(text: str) -> str:
    """``"Add books' ISBN"`` -> ``"add_books_isbn"`` (at most 60 characters)."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:60].rstrip("_")


def new_migration_name(
    label: str | None, existing: Sequence[str] = (), now: dt.datetime | None = None
) -> str:
    """``<UTC timestamp>_<slug>``, later than every ``existing`` name (so the order holds)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    stamps = [name.split("_", 1)[0] for name in existing]
    if stamps:
        latest = dt.datetime.strptime(max(stamps), TIMESTAMP_FORMAT).replace(tzinfo=dt.UTC)
        moment = max(moment, latest + dt.timedelta(seconds=1))
    slug = slugify(label or "") or "migration"
    return f"{moment.strftime(TIMESTAMP_FORMAT)}_{slug}"


def discover_files(folder: Path) -> list[MigrationFile]:
    """The migration files of ``folder``, oldest first (a missing folder has none)."""
    if not folder.is_dir():
        return []
    files = [
        MigrationFile(path.stem, path)
        for path in folder.iterdir()
        if path.is_file() and FILE_PATTERN.match(path.name)
    ]
    return sorted(files, key=lambda f: f.name)


def stray_files(folder: Path) -> list[Path]:
    """Python files of ``folder`` that are not named like a migration, so never run.

    ``__init__.py`` and other names starting with ``_`` are helpers and not reported.
    """
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and path.suffix == ".py"
        and not path.name.startswith("_")
        and not FILE_PATTERN.match(path.name)
    )


def resolve_name(names: list[str], wanted: str) -> str:
    """The migration ``wanted`` names: a full name or a unique prefix (e.g. the timestamp)."""
    if wanted in names:
        return wanted
    matches = [name for name in names if name.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        shown = ", ".join(names[-5:]) or "none"
        raise MigrationFileError(
            f"no migration is named {wanted!r}; known migrations (latest): {shown}. Run "
            f"`orm migration:list` to see them all"
        )
    raise MigrationFileError(
        f"{wanted!r} matches {len(matches)} migrations ({', '.join(matches)}); give more of "
        f"the name"
    )
