"""orm's migrations: schema diff by reflection, migration files, the migrator, entity generator."""

from orm.migrations.changes import Change, SchemaDiff, diff_schema
from orm.migrations.errors import (
    MigrationError,
    MigrationFailedError,
    MigrationFileError,
    MigrationLockError,
    SchemaDiffError,
)
from orm.migrations.migration import Migration, StepContext
from orm.migrations.migrator import (
    CreatedMigration,
    MigrationStatus,
    Migrator,
    Progress,
    RunResult,
)

__all__ = [
    "Change",
    "CreatedMigration",
    "Migration",
    "MigrationError",
    "MigrationFailedError",
    "MigrationFileError",
    "MigrationLockError",
    "MigrationStatus",
    "Migrator",
    "Progress",
    "RunResult",
    "SchemaDiff",
    "SchemaDiffError",
    "StepContext",
    "diff_schema",
]
