"""The base class of migration files: ``up()`` and ``down()`` queue SQL with ``add_sql``.

A migration file holds one subclass of :class:`Migration`::

    from orm.migrations import Migration

    class Migration20250101120000(Migration):
        def up(self) -> None:
            self.add_sql("ALTER TABLE author ADD COLUMN nickname VARCHAR(50)")

        def down(self) -> None:
            self.add_sql("ALTER TABLE author DROP COLUMN nickname")

``up``/``down`` may also be ``async`` and may queue data steps with :meth:`Migration.add_step`:
coroutines that receive a :class:`StepContext` and run on the migration's connection, inside
its transaction where the database has transactional DDL (elsewhere each data step runs in a
transaction of its own).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from orm.core import ORM, EntityManager
    from orm.core.driver import ExecuteResult
    from orm.query_builder import SqlConnection


# Written by migration:create above a statement that loses data; reported when it runs.
DATA_LOSS_MARKER = "# DATA LOSS:"


class StepContext:
    """What a data step receives: the ORM, the migration's connection, an EntityManager."""

    def __init__(self, orm: ORM, connection: SqlConnection) -> None:
        self.orm = orm
        self.connection = connection
        self._em: EntityManager | None = None

    @property
    def em(self) -> EntityManager:
        """A fork working in the migration's transaction: ``await ctx.em.flush()`` writes there.

        It maps the entities as they are *now*; a data step written against them may break
        when the entities change later (SQL through :meth:`execute` does not).
        """
        if self._em is None:
            self._em = self.orm.em.fork_on(self.connection)
        return self._em

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> ExecuteResult:
        """Run SQL (``:name`` placeholders) on the migration's connection and transaction."""
        return await self.connection.execute(sql, params)


Step = Callable[[StepContext], Awaitable[None]]


@dataclass(frozen=True)
class Statement:
    """One queued item of a migration: SQL text, or a data step (``step`` set)."""

    sql: str | None = None
    step: Step | None = None

    def describe(self) -> str:
        if self.sql is not None:
            return self.sql
        name = getattr(self.step, "__qualname__", None) or repr(self.step)
        return f"<data step {name}>"


class Migration:
    """Subclass it in a migration file; the migrator calls ``up()`` or ``down()``.

    Class attributes:

    ``dialect``
        The database the SQL was generated for (``"sqlite"``, ``"postgresql"``, ``"mysql"``);
        the migrator refuses to run it elsewhere. ``None`` (hand-written, portable SQL) runs on
        any database.
    ``transactional``
        ``False`` runs the migration outside a transaction even where DDL is transactional
        (for statements that cannot run in one, e.g. ``CREATE INDEX CONCURRENTLY``).
    """

    dialect: ClassVar[str | None] = None
    transactional: ClassVar[bool] = True

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: list[Statement] = []

    def up(self) -> Awaitable[None] | None:
        """Queue the statements that apply this migration."""
        raise NotImplementedError(f"migration {self.name} does not define up()")

    def down(self) -> Awaitable[None] | None:
        """Queue the statements that revert ``up()``."""
        raise NotImplementedError(
            f"migration {self.name} does not define down(), so it cannot be reverted; write a "
            f"down() that undoes up()"
        )

    def add_sql(self, sql: str) -> None:
        """Queue one SQL statement (without a trailing semicolon)."""
        text = sql.strip().rstrip(";").strip()
        if text:
            self._queue.append(Statement(sql=text))

    def add_step(self, step: Step) -> None:
        """Queue a data step: ``async def step(ctx: StepContext) -> None``."""
        self._queue.append(Statement(step=step))

    def require_empty(self, table: str, reason: str) -> None:
        """Queue a check that stops the migration when ``table`` has rows, saying ``reason``.

        ``migration:create`` writes it before a change that cannot fill the rows already there
        (a NOT NULL column without a default): the run stops with a message naming the table
        and column instead of the database's error.
        """

        async def check(ctx: StepContext) -> None:
            from orm.migrations.backfill import REMEDY
            from orm.migrations.errors import MigrationError

            quoted = ctx.connection.driver.dialect.identifier_preparer.quote(table)
            found = await ctx.execute(f"SELECT 1 AS found FROM {quoted} LIMIT 1")
            if found.rows:
                raise MigrationError(f"table {table} has rows, and {reason}: {REMEDY}")

        check.__qualname__ = f"require_empty({table!r})"
        self.add_step(check)

    def data_loss(self, direction: str) -> list[str]:
        """The ``# DATA LOSS: ...`` markers ``migration:create`` wrote in ``up()`` or ``down()``
        (and any written by hand the same way), for the CLI to report before it runs them."""
        method = type(self).up if direction == "up" else type(self).down
        try:
            source = inspect.getsource(method)
        except (OSError, TypeError):  # no source file (built in memory)
            return []
        markers = []
        for line in source.splitlines():
            text = line.strip()
            if text.startswith(DATA_LOSS_MARKER):
                markers.append(text.removeprefix(DATA_LOSS_MARKER).strip())
        return markers

    async def collect(self, direction: str) -> list[Statement]:
        """Run ``up()`` or ``down()`` and return what it queued."""
        self._queue = []
        result = self.up() if direction == "up" else self.down()
        if inspect.isawaitable(result):
            await result
        queued, self._queue = self._queue, []
        return queued
