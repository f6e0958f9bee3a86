"""The errors of ``orm.migrations``: part of the ``orm.core.errors`` hierarchy (``ORMError``)."""

from __future__ import annotations

from orm.core.errors import ORMError


class MigrationError(ORMError):
    """A migration could not be found, loaded, generated or run."""


class MigrationFileError(MigrationError):
    """A migration file is missing, cannot be imported, or does not define one migration."""


class MigrationFailedError(MigrationError):
    """A statement of a migration failed; the run stopped and the migration was not recorded."""

    def __init__(self, message: str, *, migration: str, statement: str | None) -> None:
        super().__init__(message)
        self.migration = migration
        self.statement = statement


class MigrationLockError(MigrationError):
    """Another run holds the migration lock of this database."""


class SchemaDiffError(MigrationError):
    """The database schema could not be read or compared with the entities."""
