"""One pooled aiomysql connection: statements, generated ids, upsert, ordered deletes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiomysql
import pymysql
import sqlalchemy as sa
from pymysql.converters import escape_item

from orm.core.driver import DeleteBatch, InsertBatch, IsolationLevel, Row, UpsertBatch
from orm.core.errors import DeadlockError, DriverError, ValidationError
from orm.core.metadata.model import EntityMetadata
from orm.core.query.ast import Comparison, Op, SelectQuery
from orm.query_builder import SqlConnection

if TYPE_CHECKING:
    from orm.mysql.driver import MySqlDriver

# Statements that are safe to send again on a fresh connection if the pooled one turned out
# to be dead before they reached the server (nothing can have been written).
_RETRYABLE = ("SELECT", "START", "SET", "SHOW", "BEGIN")
_LOST = (2006, 2013, 2055)
DEADLOCK = 1213
# MariaDB's write conflict under innodb_snapshot_isolation=ON: rolls the transaction back too.
RECORD_CHANGED = 1020
LOCK_WAIT_TIMEOUT = 1205


class _QuietCursor(aiomysql.Cursor):  # type: ignore[misc]
    """Does not send SHOW WARNINGS after statements with warnings (a round trip each, e.g.
    after DROP TABLE IF EXISTS); the session runs in strict mode, so data problems are
    errors, not warnings."""

    async def _show_warnings(self, conn: Any) -> None:
        return None


class _QuietSSCursor(aiomysql.SSCursor):  # type: ignore[misc]
    """An unbuffered cursor (rows are read from the socket as they are fetched), quiet as
    :class:`_QuietCursor`."""

    async def _show_warnings(self, conn: Any) -> None:
        return None


@dataclass
class _Result:
    rows: list[Sequence[Any]]
    columns: list[str]
    rowcount: int
    lastrowid: int


class MySqlConnection(SqlConnection):
    driver: MySqlDriver

    def __init__(self, driver: MySqlDriver, raw: aiomysql.Connection) -> None:
        super().__init__(driver)
        self.raw = raw
        # True until the first statement succeeds: a dead pooled connection is reconnected once.
        self._fresh = True
        # Session state that must not go back to the pool (SET FOREIGN_KEY_CHECKS = 0).
        self.dirty = False
        self._in_transaction = False
        # Set when InnoDB rolled the whole transaction back (a deadlock; a write conflict under
        # innodb_snapshot_isolation; a lock wait timeout under innodb_rollback_on_timeout):
        # until ROLLBACK, every statement fails, as on PostgreSQL, instead of running outside
        # any transaction.
        self._aborted: str | None = None

    # -- the native calls ------------------------------------------------------------------

    async def _call(self, sql: str, params: Sequence[Any]) -> _Result:
        """Run ``sql``; reconnect and retry once if a pooled connection was found dead."""
        if self._aborted is not None and sql.strip().upper() != "ROLLBACK":
            raise DeadlockError(
                f"the server rolled this transaction back ({self._aborted}); its savepoints "
                f"are gone and nothing more can run in it: roll back and retry the whole "
                f"transaction",
                sql=sql,
            )
        try:
            return await self._execute_on(sql, params)
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as exc:
            if self._in_transaction and self._ends_transaction(exc):
                self._aborted = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
            if not self._can_retry(exc, sql):
                raise
            await self.raw.ping(reconnect=True)
            self._fresh = False
            return await self._execute_on(sql, params)

    def _ends_transaction(self, exc: Exception) -> bool:
        code = exc.args[0] if exc.args else None
        if code in (DEADLOCK, RECORD_CHANGED):
            return True
        return code == LOCK_WAIT_TIMEOUT and self.driver.server.rollback_on_timeout

    def _literal(self, value: Any) -> str:
        """A value as SQL text. Done here, not by aiomysql: aiomysql 0.3 calls a pymysql helper
        for ``bytes`` that pymysql 1.2 removed."""
        if isinstance(value, str):
            return "'" + str(self.raw.escape_string(value)) + "'"
        if isinstance(value, (bytes, bytearray, memoryview)):
            return "X'" + bytes(value).hex() + "'"
        return str(escape_item(value, self.raw.charset))

    async def _execute_on(self, sql: str, params: Sequence[Any]) -> _Result:
        # Always interpolate, even without parameters: SQLAlchemy wrote a literal % as %%.
        text = sql % tuple(self._literal(value) for value in params)
        async with self.raw.cursor(_QuietCursor) as cursor:
            await cursor.execute(text)
            self._fresh = False
            rows = list(await cursor.fetchall()) if cursor.description else []
            columns = [d[0] for d in cursor.description or ()]
            return _Result(rows, columns, int(cursor.rowcount), int(cursor.lastrowid or 0))

    def _can_retry(self, exc: Exception, sql: str) -> bool:
        if not self._fresh:
            return False
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        lost = isinstance(exc, pymysql.err.InterfaceError) or code in _LOST
        words = sql.lstrip().split(None, 1)
        return lost and bool(words) and words[0].upper() in _RETRYABLE

    async def _native_fetch(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        return (await self._call(sql, params)).rows

    async def _native_execute(self, sql: str, params: Sequence[Any]) -> int:
        return (await self._call(sql, params)).rowcount

    async def _native_insert_ids(self, sql: str, params: Sequence[Any]) -> tuple[int, int]:
        result = await self._call(sql, params)
        return result.lastrowid, result.rowcount

    async def _native_raw(
        self, sql: str, params: Sequence[Any]
    ) -> tuple[list[Sequence[Any]], list[str], int]:
        result = await self._call(sql, params)
        return result.rows, result.columns, result.rowcount

    # -- streaming -------------------------------------------------------------------------

    def cursor_available(self) -> bool:
        # An unread unbuffered result blocks every other statement on the connection: inside
        # a transaction (whose statements share it), em.stream reads keyset batches instead.
        return not self._in_transaction

    async def _native_stream(
        self, sql: str, params: Sequence[Any], batch_size: int
    ) -> AsyncGenerator[list[Sequence[Any]], None]:
        """An unbuffered cursor (SSCursor): rows are read off the socket batch by batch.

        Closed early, the rest of the result is not read (that could be millions of rows):
        the connection is discarded instead of going back to the pool.
        """
        text = sql % tuple(self._literal(value) for value in params)
        cursor = await self.raw.cursor(_QuietSSCursor)
        reading = finished = False
        try:
            await cursor.execute(text)
            self._fresh = False
            reading = True
            while True:
                rows: list[Sequence[Any]] = list(await cursor.fetchmany(batch_size))
                finished = len(rows) < batch_size
                yield rows
                if finished:
                    break
        finally:
            if finished:
                await cursor.close()
            elif reading:
                self.dirty = True  # closed by driver.acquire() when released
            else:
                with suppress(Exception):  # the statement failed: its error is what matters
                    await cursor.close()

    async def begin(self, isolation_level: IsolationLevel | None = None) -> None:
        await super().begin(isolation_level)
        self._in_transaction, self._aborted = True, None

    async def commit(self) -> None:
        await super().commit()
        self._in_transaction = False

    async def rollback(self) -> None:
        self._in_transaction, self._aborted = False, None
        await super().rollback()

    async def run_sql(self, sql: str) -> None:
        await super().run_sql(sql)
        normalized = " ".join(sql.upper().split())
        if normalized.startswith("SET FOREIGN_KEY_CHECKS"):
            self.dirty = not normalized.endswith("1")

    async def existing_columns(self) -> dict[str, set[str]]:
        rows = await self._native_fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE()",
            [],
        )
        result: dict[str, set[str]] = {}
        for table, column in rows:
            result.setdefault(str(table), set()).add(str(column))
        return result

    # -- locking reads ---------------------------------------------------------------------

    async def find(self, query: SelectQuery) -> list[Row]:
        """Locking reads lock the rows they return, as on PostgreSQL.

        InnoDB locks every row a locking read *scans*, matching or not, so ``{"id": {"$ne":
        1}}`` FOR UPDATE NOWAIT would fail on a locked row 1. Unless the filter is a primary
        key lookup (or SKIP LOCKED, which skips what it scans), the keys are read first without
        locks, then ``... WHERE <filter> AND key IN (<keys>) FOR UPDATE`` locks just those.
        """
        if (
            query.lock_mode is None
            or query.lock_skip_locked
            or query.pivot is not None
            or _primary_key_lookup(query)
        ):
            return await super().find(query)
        renderer = self.driver.renderer
        table = query.entity.table
        positions = _key_positions(query)
        unlocked, _ = renderer.select(dataclasses.replace(query, lock_mode=None, lock_nowait=False))
        columns = list(unlocked.selected_columns)
        keys = await self.fetch(
            unlocked.with_only_columns(*(columns[i] for i in positions)), table=table
        )
        if not keys:
            return []
        locked, read = renderer.select(query)
        selected = list(locked.selected_columns)
        key_columns = [selected[i] for i in positions]
        if len(key_columns) == 1:
            matches = key_columns[0].in_([row[0] for row in keys])
        else:
            matches = sa.tuple_(*key_columns).in_([tuple(row) for row in keys])
        statement = locked.where(matches).limit(None).offset(None)
        return [read(row) for row in await self.fetch(statement, table=table)]

    # -- generated ids without RETURNING (MySQL 8) -----------------------------------------

    async def _insert_without_returning(self, batch: InsertBatch) -> list[Row]:
        if len(batch.returning) != 1 or len(batch.returning[0].columns) != 1:
            names = ", ".join(p.name for p in batch.returning)
            raise ValidationError(
                f"{batch.entity.class_name}: MySQL reports only one generated column per "
                f"INSERT (the AUTO_INCREMENT key), not {names}"
            )
        if len(batch.rows) == 1 or self.driver.consecutive_insert_ids:
            # One multi-row INSERT: LAST_INSERT_ID() is the first row's id and the others
            # follow it in VALUES order, auto_increment_increment apart.
            return await super()._insert_without_returning(batch)
        results: list[Row] = []
        for row in batch.rows:
            single = InsertBatch(batch.entity, batch.properties, [row], batch.returning)
            results.extend(await super()._insert_without_returning(single))
        return results

    # -- deletes ---------------------------------------------------------------------------

    async def delete(self, batch: DeleteBatch) -> int:
        """InnoDB checks foreign keys row by row, not at the end of the statement: rows of a
        self-referencing table go children first, one DELETE per level of the tree."""
        self_refs = _self_references(batch.entity)
        if not self_refs or len(batch.keys) < 2:
            return await super().delete(batch)
        deleted = 0
        versions = (
            None
            if batch.versions is None
            else dict(zip((tuple(k) for k in batch.keys), batch.versions, strict=True))
        )
        for level in await self._delete_levels(batch, self_refs):
            checked = None if versions is None else [versions[tuple(k)] for k in level]
            deleted += await super().delete(DeleteBatch(batch.entity, level, checked))
        return deleted

    async def _delete_levels(
        self, batch: DeleteBatch, self_refs: list[str]
    ) -> list[list[tuple[Any, ...]]]:
        meta = batch.entity
        renderer = self.driver.renderer
        statement, parents_of = renderer.parents(meta, self_refs, batch.keys)
        rows = await self.fetch(statement, table=meta.table)
        parents = parents_of(rows)
        pending = {tuple(key) for key in batch.keys}
        levels: list[list[tuple[Any, ...]]] = []
        while pending:
            referenced = {p for key in pending for p in parents.get(key, ()) if p in pending}
            level = [key for key in pending if key not in referenced]
            if not level:  # a cycle: let the database decide (ON DELETE rules may allow it)
                level = list(pending)
            levels.append(sorted(level, key=repr))
            pending.difference_update(level)
        return levels

    # -- upsert ----------------------------------------------------------------------------

    async def upsert(self, batch: UpsertBatch) -> list[Row]:
        """INSERT ... ON DUPLICATE KEY UPDATE; one dict of ``batch.returning`` per input row.

        MariaDB returns the rows with RETURNING (in input order); MySQL re-selects them by the
        conflict columns in a second statement.
        """
        if not batch.rows:
            return []
        if not batch.conflict:
            raise ValidationError(
                f"upsert of {batch.entity.class_name} needs the conflict properties (a unique "
                f"key or the primary key)"
            )
        renderer = self.driver.renderer
        table = batch.entity.table
        use_returning = bool(batch.returning) and self.driver.platform.returning
        statement = renderer.upsert(batch, returning=use_returning)
        if not batch.returning:
            await self.run(statement, table=table)
            return [{} for _ in batch.rows]
        columns = [c for prop in batch.returning for c in prop.columns]
        if use_returning:
            rows = await self.fetch(statement, table=table)
        else:
            await self.run(statement, table=table)
            selected = await self.fetch(renderer.reselect(batch), table=table)
            rows = _one_per_input(selected, len(batch.rows), batch.entity)
        from_db = self.driver.values.from_db
        result: list[Row] = []
        for row in rows:
            values = iter(from_db(c, v) for c, v in zip(columns, row, strict=True))
            entry: Row = {}
            for prop in batch.returning:
                parts = tuple(next(values) for _ in prop.columns)
                if prop.relation is None:
                    entry[prop.name] = parts[0]
                else:
                    entry[prop.name] = None if all(p is None for p in parts) else parts
            result.append(entry)
        return result


def _one_per_input(
    selected: list[Sequence[Any]], count: int, meta: EntityMetadata
) -> list[Sequence[Any]]:
    by_ordinal = {int(row[0]): row[1:] for row in selected}
    missing = [index for index in range(count) if index not in by_ordinal]
    if missing:
        raise DriverError(
            f"upsert of {meta.class_name}: rows {missing} could not be found again by the "
            f"conflict properties (MySQL has no RETURNING); the conflict properties must be a "
            f"unique key whose values are not changed by the update"
        )
    return [by_ordinal[index] for index in range(count)]


def _primary_key_lookup(query: SelectQuery) -> bool:
    where = query.where
    return (
        isinstance(where, Comparison)
        and where.prop.primary
        and where.prop.relation is None
        and len(query.entity.pk_columns) == 1
        and where.op in (Op.EQ, Op.IN)
    )


def _key_positions(query: SelectQuery) -> list[int]:
    """Where the root's primary-key columns are among the columns the renderer selects."""
    positions: list[int] = []
    index = 0
    for prop in query.entity.persistent:
        for column in prop.columns:
            if column.primary:
                positions.append(index)
            index += 1
    return positions


def _self_references(meta: EntityMetadata) -> list[str]:
    return [prop.name for prop in meta.persistent if prop.is_owning_to_one and prop.target is meta]
