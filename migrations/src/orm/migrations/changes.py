"""The result of a schema diff: changes with the SQL that applies and reverts each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orm.core import ORM


@dataclass
class Change:
    """One difference, as the statements that apply it (``up``) and revert it (``down``)."""

    kind: str
    table: str
    description: str
    up: list[str]
    down: list[str]
    data_loss: str | None = None
    down_data_loss: str | None = None
    # Why ``up`` can only run on an empty table (a NOT NULL column without a value for the
    # rows already there), or None.
    requires_empty: str | None = None


@dataclass
class SchemaDiff:
    """The changes that bring the database to the entities' schema, in order."""

    dialect: str
    changes: list[Change] = field(default_factory=list)
    # Tables and columns the entities lack, left out because drops were not wanted.
    skipped: list[str] = field(default_factory=list)
    # Tables of changes with ``requires_empty`` that have rows now.
    populated: set[str] = field(default_factory=set)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def up_sql(self) -> list[str]:
        return [sql for change in self.changes for sql in change.up]

    def down_sql(self) -> list[str]:
        return [sql for change in reversed(self.changes) for sql in change.down]

    @property
    def blocking(self) -> list[str]:
        """Why ``up`` would fail on this database: changes needing an empty table that has rows."""
        return [
            f"table {c.table} has rows, and {c.requires_empty}"
            for c in self.changes
            if c.requires_empty and c.table in self.populated
        ]

    @property
    def warnings(self) -> list[str]:
        """What ``up()`` of a migration made from this diff would lose."""
        return [c.data_loss for c in self.changes if c.data_loss]

    @property
    def down_warnings(self) -> list[str]:
        """What its ``down()`` would lose (e.g. dropping a column ``up()`` added)."""
        return [c.down_data_loss for c in self.changes if c.down_data_loss]


async def diff_schema(orm: ORM, *, from_empty: bool = False, drops: bool = True) -> SchemaDiff:
    """What to change in the database so that it matches the entities.

    ``from_empty`` ignores the database and describes the whole schema (an initial migration).
    ``drops=False`` keeps tables and columns the entities lack (listed in ``skipped``).
    Alembic and the reflection engine are imported on first use (they are slow to import).
    """
    from orm.migrations.diff import compute_diff

    return await compute_diff(orm, from_empty=from_empty, drops=drops)
