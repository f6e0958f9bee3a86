"""One pooled asyncpg connection behind orm's ``Connection`` interface, plus upsert."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from orm.core.driver import Row, UpsertBatch
from orm.core.errors import ConnectionError
from orm.core.query.ast import LoadStrategy, SelectQuery
from orm.postgres.errors import is_connection_error
from orm.postgres.json_loading import json_select
from orm.postgres.upsert import run_upsert
from orm.query_builder import SqlConnection

if TYPE_CHECKING:
    from orm.postgres.driver import PostgresDriver

_EXISTING_COLUMNS = """
SELECT c.table_name, c.column_name
FROM information_schema.columns AS c
JOIN information_schema.tables AS t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
"""

T = TypeVar("T")

# A first statement that may run again on a fresh connection if the pooled one turned out dead.
_RETRYABLE = ("BEGIN", "SELECT", "SAVEPOINT", "SHOW")


class PostgresConnection(SqlConnection):
    driver: PostgresDriver

    def __init__(self, driver: PostgresDriver, raw: asyncpg.Connection) -> None:
        super().__init__(driver)
        self.raw = raw
        self._used = False
        self.released = False  # set when the ``async with driver.acquire()`` block ends

    @property
    def backend_pid(self) -> int:
        """The server process of this connection (``pg_terminate_backend`` takes it)."""
        return int(self.raw.get_server_pid())

    def _check_checked_out(self) -> None:
        if self.released:
            raise ConnectionError(
                "this PostgreSQL connection was already given back to the pool; use a "
                "connection only inside its `async with driver.acquire() as connection:` block"
            )

    @property
    def is_closed(self) -> bool:
        """True once the server or the network ended this connection."""
        try:
            return bool(self.raw.is_closed())
        except asyncpg.InterfaceError:  # the pool already took the dead connection back
            return True

    async def rollback(self) -> None:
        if self.is_closed:
            return  # the server rolled the transaction back when the connection ended
        await super().rollback()

    async def _first(self, call: Callable[[], Awaitable[T]], *, retryable: bool) -> T:
        """Run ``call``; if it is the checkout's first statement and the pooled connection
        proves dead (the server restarted, or ``pg_terminate_backend``), run it once more on
        a new connection. Only ``retryable`` statements (ones that change nothing) are."""
        self._check_checked_out()
        if self._used:
            return await call()
        self._used = True
        try:
            return await call()
        except Exception as exc:
            if not retryable or not is_connection_error(exc) or isinstance(exc, TimeoutError):
                raise
            self.raw = await self.driver.replace_connection(self.raw)
            return await call()

    async def _native_fetch(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        records = await self._first(lambda: self.raw.fetch(sql, *params), retryable=_read_only(sql))
        return list(records)

    async def _native_execute(self, sql: str, params: Sequence[Any]) -> int:
        status = await self._first(
            lambda: self.raw.execute(sql, *params), retryable=_read_only(sql)
        )
        return _rowcount(status)

    async def _native_raw(
        self, sql: str, params: Sequence[Any]
    ) -> tuple[list[Sequence[Any]], list[str], int]:
        """Prepare first (which runs nothing) to learn whether the statement returns rows."""
        try:
            statement = await self._first(lambda: self.raw.prepare(sql), retryable=True)
        except asyncpg.PostgresSyntaxError as exc:
            if params or "multiple commands" not in str(exc):
                raise
            # Several statements in one string (a script): the simple protocol runs them all.
            return [], [], _rowcount(await self.raw.execute(sql))
        records = await statement.fetch(*params)
        columns = [attribute.name for attribute in statement.get_attributes()]
        return list(records), columns, _rowcount(statement.get_statusmsg())

    async def _native_stream(
        self, sql: str, params: Sequence[Any], batch_size: int
    ) -> AsyncGenerator[list[Sequence[Any]], None]:
        """An asyncpg cursor (a portal): one round trip per batch of ``batch_size`` rows.

        A portal lives in a transaction: outside one (em.stream's own connection), this starts
        one and ends it with the stream. Inside the fork's transaction, other statements may
        run between batches; the portal is closed when the stream ends.
        """
        self._check_checked_out()
        self._used = True
        own = not self.raw.is_in_transaction()
        if own:
            await self.begin()
        cursor: Any = None
        try:
            cursor = await self.raw.cursor(sql, *params)
            while True:
                rows: list[Sequence[Any]] = list(await cursor.fetch(batch_size))
                yield rows
                if len(rows) < batch_size:
                    break
        except BaseException:
            if own:
                with suppress(Exception):
                    await self.rollback()
            elif cursor is not None:
                await _close_portal(cursor)
            raise
        if own:
            await self.commit()
        else:
            await _close_portal(cursor)

    async def existing_columns(self) -> dict[str, set[str]]:
        result: dict[str, set[str]] = {}
        for table, column in await self._native_fetch(_EXISTING_COLUMNS, []):
            result.setdefault(str(table), set()).add(str(column))
        return result

    # -- upsert ----------------------------------------------------------------------------

    async def find_graph(self, query: SelectQuery, strategy: LoadStrategy) -> list[Row]:
        if strategy is not LoadStrategy.JSON_AGGREGATE:
            return await super().find_graph(query, strategy)
        statement, fold = json_select(self.driver.renderer, query)
        return fold(await self.fetch(statement, table=query.entity.table))

    async def upsert(self, batch: UpsertBatch) -> list[Row]:
        """INSERT ... ON CONFLICT DO UPDATE ... RETURNING; see :mod:`orm.postgres.upsert`."""
        return await run_upsert(self, batch)


async def _close_portal(cursor: Any) -> None:
    """Close an asyncpg cursor's portal now rather than at the end of the transaction (asyncpg
    has no public call for it; a portal that is already gone needs nothing)."""
    close = getattr(cursor, "_close_portal", None)
    if close is None or not getattr(cursor, "_portal_name", None):
        return
    with suppress(Exception):
        await close(None)


def _read_only(sql: str) -> bool:
    return sql.lstrip()[:9].upper().startswith(_RETRYABLE)


def _rowcount(status: str | None) -> int:
    """asyncpg's command tag (``UPDATE 3``, ``INSERT 0 5``) -> affected rows, or -1."""
    if not status:
        return -1
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1
