"""The shared SQL :class:`Connection`: renders with SQLAlchemy Core, runs through the driver."""

from __future__ import annotations

import abc
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from orm.core.driver import (
    Connection,
    DeleteBatch,
    ExecuteResult,
    InsertBatch,
    IsolationLevel,
    PivotBatch,
    Row,
    UpdateBatch,
    UpsertBatch,
)
from orm.core.errors import DriverError, NotSupportedError, ValidationError
from orm.core.loading.hydrator import row_key
from orm.core.query.ast import CountQuery, LoadStrategy, SelectQuery
from orm.core.query_log import log_statement
from orm.query_builder.graph import joined_select
from orm.query_builder.inserted import (
    decode,
    in_input_order,
    merge_by_key,
    pairable,
    with_pairing_keys,
)
from orm.query_builder.placeholders import check_param_value, check_placeholders

if TYPE_CHECKING:
    from orm.query_builder.driver import SqlDriver

T = TypeVar("T")


class SqlConnection(Connection):
    """Drivers implement the four ``_native_*`` methods on their database library."""

    def __init__(self, driver: SqlDriver) -> None:
        self.driver = driver

    # -- what a driver implements ----------------------------------------------------------

    @abc.abstractmethod
    async def _native_fetch(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        """Run a statement that returns rows."""

    @abc.abstractmethod
    async def _native_execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run a statement; return the affected row count."""

    async def _native_insert_ids(self, sql: str, params: Sequence[Any]) -> tuple[int, int]:
        """(first generated id, row count) of an INSERT, for databases without RETURNING."""
        raise NotImplementedError

    @abc.abstractmethod
    async def existing_columns(self) -> dict[str, set[str]]:
        """The tables of the current database/schema and their column names."""

    def _native_stream(
        self, sql: str, params: Sequence[Any], batch_size: int
    ) -> AsyncGenerator[list[Sequence[Any]], None]:
        """Run a query on a server-side cursor: yield ``batch_size`` rows at a time until a
        shorter batch (possibly empty), and close the cursor when finished or closed early.
        Drivers whose platform declares ``server_side_cursors`` implement it."""
        raise NotImplementedError

    def cursor_available(self) -> bool:
        """Whether ``_native_stream`` may run now (MySQL: not inside a transaction, where an
        unread result would block the statements the transaction still has to send)."""
        return True

    # -- running ---------------------------------------------------------------------------

    def compile(self, statement: sa.sql.ClauseElement) -> tuple[str, list[Any]]:
        return self.driver.compile(statement)

    async def fetch(
        self, statement: sa.sql.ClauseElement, *, table: str | None = None
    ) -> list[Sequence[Any]]:
        sql, params = self.compile(statement)
        return await self._timed(self._native_fetch, sql, params, table)

    async def run(self, statement: sa.sql.ClauseElement, *, table: str | None = None) -> int:
        sql, params = self.compile(statement)
        return await self._timed(self._native_execute, sql, params, table)

    async def run_sql(self, sql: str) -> None:
        await self._timed(self._native_execute, sql, [], None)

    async def _timed(
        self,
        function: Callable[[str, Sequence[Any]], Awaitable[T]],
        sql: str,
        params: Sequence[Any],
        table: str | None,
    ) -> T:
        started = time.perf_counter()
        try:
            return await function(sql, params)
        except Exception as exc:
            raise self.driver.translate_error(exc, sql=sql, table=table) from exc
        finally:
            duration = (time.perf_counter() - started) * 1000
            log_statement(sql, len(params), duration, target=table)

    # -- Connection ------------------------------------------------------------------------

    async def ping(self) -> None:
        await self._timed(self._native_fetch, "SELECT 1", [], None)

    async def find(self, query: SelectQuery) -> list[Row]:
        statement, read = self.driver.renderer.select(query)
        rows = await self.fetch(statement, table=query.entity.table)
        return [read(row) for row in rows]

    async def find_graph(self, query: SelectQuery, strategy: LoadStrategy) -> list[Row]:
        if strategy is not LoadStrategy.JOINED:
            return await super().find_graph(query, strategy)
        statement, fold = joined_select(self.driver.renderer, query)
        return fold(await self.fetch(statement, table=query.entity.table))

    def stream(self, query: SelectQuery, batch_size: int) -> AsyncIterator[list[Row]]:
        """Batches of rows from a server-side cursor, or keyset batches without one.

        The first batch is logged as the SELECT; every later one as ``FETCH FORWARD n
        (cursor of: SELECT ...)``, so ``orm.sql`` shows one record per round trip (per read
        of the open result on MySQL and SQLite).
        """
        if not self.driver.platform.server_side_cursors or not self.cursor_available():
            return super().stream(query, batch_size)
        return self._cursor_batches(query, batch_size)

    async def _cursor_batches(
        self, query: SelectQuery, batch_size: int
    ) -> AsyncGenerator[list[Row], None]:
        statement, read = self.driver.renderer.select(query)
        sql, params = self.compile(statement)
        table = query.entity.table
        native = self._native_stream(sql, params, batch_size)
        label, count = sql, len(params)
        try:
            while True:
                started = time.perf_counter()
                try:
                    rows = await anext(native)
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    log_statement(label, count, (time.perf_counter() - started) * 1000)
                    if isinstance(exc, DriverError):
                        raise
                    raise self.driver.translate_error(exc, sql=sql, table=table) from exc
                log_statement(label, count, (time.perf_counter() - started) * 1000)
                label, count = f"FETCH FORWARD {batch_size} (cursor of: {sql})", 0
                yield [read(row) for row in rows]
                if len(rows) < batch_size:
                    return
        finally:
            await native.aclose()

    async def count(self, query: CountQuery) -> dict[tuple[Any, ...], int] | int:
        statement, width = self.driver.renderer.count(query)
        rows = await self.fetch(statement, table=query.entity.table)
        if width == 0:
            return int(rows[0][0]) if rows else 0
        from_db = self.driver.values.from_db
        if query.pivot is not None:
            key_columns = query.pivot.prop.entity.pk_columns
        else:
            assert query.group_by is not None
            key_columns = query.group_by.columns
        return {
            tuple(from_db(c, v) for c, v in zip(key_columns, row[:width], strict=True)): int(
                row[width]
            )
            for row in rows
        }

    def insert_sql(self, batch: InsertBatch, *, returning: bool) -> tuple[str, list[Any]]:
        """The multi-row INSERT of a batch, with RETURNING of the generated columns if asked."""
        renderer = self.driver.renderer
        columns = [c.name for prop in batch.properties for c in prop.columns]
        convert = renderer.row_converter(batch.properties)
        rows = [convert(row) for row in batch.rows]
        generated = [c.name for prop in batch.returning for c in prop.columns] if returning else []
        if not columns:  # every value comes from defaults: one row per statement
            return self.compile(renderer.insert(batch, returning=returning))
        return self.driver.insert_rows(batch.entity.table, columns, rows, generated)

    async def insert(self, batch: InsertBatch) -> list[Row]:
        platform = self.driver.platform
        meta = batch.entity
        table = meta.table
        if not batch.returning:
            sql, params = self.insert_sql(batch, returning=False)
            await self._timed(self._native_execute, sql, params, table)
            return [{} for _ in batch.rows]
        if not platform.returning:
            return await self._insert_then_select(batch)
        if len(batch.rows) > 1 and (not batch.properties or not pairable(batch)):
            # One row per statement: a statement of default values inserts a single row, and
            # rows whose key the database fills in cannot be told apart in what comes back.
            return [
                (await self.insert(InsertBatch(meta, batch.properties, [row], batch.returning)))[0]
                for row in batch.rows
            ]
        # RETURNING's row order is not guaranteed: rows are paired by key (inserted module).
        statement_batch = with_pairing_keys(batch)
        sql, params = self.insert_sql(statement_batch, returning=True)
        rows = await self._timed(self._native_fetch, sql, params, table)
        returned = decode(statement_batch.returning, rows, self.driver.values.from_db)
        return in_input_order(batch, returned)

    async def _insert_then_select(self, batch: InsertBatch) -> list[Row]:
        """Without RETURNING: the generated key from the insert id, then the server defaults
        with one SELECT by key, on this connection (so in the flush's transaction)."""
        meta = batch.entity
        generated = meta.generated_pk
        read = tuple(p for p in batch.returning if p is not generated)
        for prop in read:
            if prop.primary:
                raise NotSupportedError(
                    f"{prop.path} is a primary key with a server_default, and "
                    f"{self.driver.platform.name} has no INSERT ... RETURNING to report the "
                    f"value it gets; generate the key in the application (default_factory)"
                )
        if generated is not None and generated in batch.returning:
            keyed = InsertBatch(meta, batch.properties, batch.rows, (generated,))
            inserted = await self._insert_without_returning(keyed)
        else:
            plain = InsertBatch(meta, batch.properties, batch.rows)
            sql, params = self.insert_sql(plain, returning=False)
            await self._timed(self._native_execute, sql, params, meta.table)
            inserted = [{} for _ in batch.rows]
        if not read:
            return inserted
        keys = [
            row_key(meta, {**row, **values})
            for row, values in zip(batch.rows, inserted, strict=True)
        ]
        statement = self.driver.renderer.select_by_keys(meta, read, keys)
        raw = await self.fetch(statement, table=meta.table)
        selected = decode((*meta.primary_keys, *read), raw, self.driver.values.from_db)
        return merge_by_key(meta, inserted, keys, selected)

    async def _insert_without_returning(self, batch: InsertBatch) -> list[Row]:
        sql, params = self.insert_sql(batch, returning=False)
        first, count = await self._timed(self._native_insert_ids, sql, params, batch.entity.table)
        name = batch.returning[0].name
        step = self.driver.auto_increment_step
        return [{name: first + i * step} for i in range(count)]

    async def update(self, batch: UpdateBatch) -> int:
        return await self.run(self.driver.renderer.update(batch), table=batch.entity.table)

    def parameters_per_update_row(self, values: int, keys: int) -> int:
        # The multi-row UPDATE binds each key twice: in its CASE WHEN and in the WHERE IN.
        return values + 2 * keys

    async def delete(self, batch: DeleteBatch) -> int:
        return await self.run(self.driver.renderer.delete(batch), table=batch.entity.table)

    async def write_pivot(self, batch: PivotBatch) -> None:
        await self.run(self.driver.renderer.pivot(batch), table=batch.prop.pivot_table)

    async def upsert(self, batch: UpsertBatch) -> list[Row]:
        raise ValidationError(f"{self.driver.platform.name} does not support upsert")

    def returned_in_input_order(
        self, batch: UpsertBatch, returned: Sequence[Sequence[Any]]
    ) -> list[Row]:
        """Pair RETURNING rows (``batch.returning`` columns, any order) with the input rows.

        Rows are matched on the conflict properties' values, which identify one row each.
        """
        decoded = decode(batch.returning, returned, self.driver.values.from_db)
        by_conflict = {self._conflict_key(batch, row): row for row in decoded}
        return [by_conflict[self._conflict_key(batch, row)] for row in batch.rows]

    @staticmethod
    def _conflict_key(batch: UpsertBatch, row: Row) -> tuple[Any, ...]:
        return tuple(
            tuple(row[p.name]) if p.relation is not None else row[p.name] for p in batch.conflict
        )

    async def run_raw(
        self, statement: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> ExecuteResult:
        """:class:`~orm.core.driver.RawStatements` for ``em.execute``: raw SQL."""
        return await self.execute(statement, params)

    async def execute(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> ExecuteResult:
        """Run raw SQL; ``:name`` placeholders with a mapping of parameters."""
        if not isinstance(sql, str) or not sql.strip():
            raise ValidationError(f"execute() takes a non-empty SQL str, got {sql!r}")
        if params is not None and not isinstance(params, Mapping):
            raise ValidationError(
                "execute() takes parameters as a dict for :name placeholders, e.g. "
                "execute('SELECT * FROM author WHERE id = :id', {'id': 1}), got "
                f"{type(params).__name__} {params!r}"
            )
        given = dict(params or {})
        where = f"execute({sql!r})"
        for name, value in given.items():
            if not isinstance(name, str):
                raise ValidationError(f"{where}: parameter names must be str, got {name!r}")
            check_param_value(name, value, where=where)
        check_placeholders(sql, given, where=where)
        statement = sa.text(sql)
        if given:
            statement = statement.bindparams(**given)
        compiled_sql, values = self.compile(statement)
        started = time.perf_counter()
        try:
            rows, columns, rowcount = await self._native_raw(compiled_sql, values)
        except Exception as exc:
            raise self.driver.translate_error(exc, sql=compiled_sql, table=None) from exc
        finally:
            log_statement(compiled_sql, len(values), (time.perf_counter() - started) * 1000)
        return ExecuteResult([dict(zip(columns, row, strict=False)) for row in rows], rowcount)

    @abc.abstractmethod
    async def _native_raw(
        self, sql: str, params: Sequence[Any]
    ) -> tuple[list[Sequence[Any]], list[str], int]:
        """Run raw SQL: (rows, column names, affected row count)."""

    # -- transactions ----------------------------------------------------------------------

    async def begin(self, isolation_level: IsolationLevel | None = None) -> None:
        for sql in self.driver.begin_statements(isolation_level):
            await self.run_sql(sql)

    async def commit(self) -> None:
        await self.run_sql("COMMIT")

    async def rollback(self) -> None:
        await self.run_sql("ROLLBACK")

    async def savepoint(self, name: str) -> None:
        await self.run_sql(f"SAVEPOINT {name}")

    async def release_savepoint(self, name: str) -> None:
        await self.run_sql(f"RELEASE SAVEPOINT {name}")

    async def rollback_to_savepoint(self, name: str) -> None:
        await self.run_sql(f"ROLLBACK TO SAVEPOINT {name}")
