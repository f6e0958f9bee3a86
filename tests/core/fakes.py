"""A database-free driver for the core tests: it records every call and keeps rows in memory.

``FakeDriver`` implements :mod:`orm.core.driver`'s abstract classes. It logs what the core sends
(``("begin", None)``, ``("insert", InsertBatch)``, ``("find", SelectQuery)``, ...), stores
inserted rows in plain dicts (``{property name: value}``, to-one relations as key tuples, exactly
the shape drivers exchange with the core) so later ``find`` calls can return them, and can be told
to fail on a given operation. It understands just enough of the query tree for the core's own
queries (keys, foreign keys, simple comparisons, ``And``/``Or``/``Not``, pivots); anything else
raises ``NotImplementedError`` so a test relying on it fails loudly.
"""

from __future__ import annotations

import copy
import itertools
import operator
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from orm.core import ORM
from orm.core.driver import (
    Connection,
    DeleteBatch,
    Driver,
    ExecuteResult,
    InsertBatch,
    IsolationLevel,
    PivotBatch,
    Platform,
    SchemaManager,
    UpdateBatch,
    UpsertBatch,
)
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.core.query.ast import (
    And,
    Comparison,
    Condition,
    CountQuery,
    Not,
    Op,
    Or,
    SelectQuery,
)

Row = dict[str, Any]
Key = tuple[Any, ...]
Failure = Callable[[str, Any], BaseException | None]

WRITES = ("insert", "update", "delete", "pivot", "upsert")


class FakeSchema(SchemaManager):
    def __init__(self, driver: FakeDriver) -> None:
        self.driver = driver

    async def create(self) -> None:
        self.driver.log.append(("schema.create", None))

    async def drop(self) -> None:
        self.driver.log.append(("schema.drop", None))

    async def update(self) -> None:
        self.driver.log.append(("schema.update", None))

    async def create_commands(self) -> list[str]:
        return []


class FakeDriver(Driver):
    platform = Platform(name="fake", returning=True, savepoints=True, lock_modes=True)
    # The connections it hands out; FakeConnection alone has no raw statements.
    connection_class: type[FakeConnection]

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.options = options
        self.log: list[tuple[str, Any]] = []
        self.metas: list[EntityMetadata] = []
        self.connected = False
        self.closed = False
        # table name -> rows; (owning ManyToMany path) -> (owner key, target key) pairs
        self.tables: dict[str, list[Row]] = {}
        self.pivots: dict[str, list[tuple[Key, Key]]] = {}
        self._ids: dict[str, itertools.count[int]] = {}
        self._failures: list[Failure] = []
        self._saved: list[tuple[dict[str, list[Row]], dict[str, list[tuple[Key, Key]]]]] = []
        self._schema = FakeSchema(self)

    # -- Driver ----------------------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FakeDriver:
        return cls(url, **options)

    async def connect(self, entities: Sequence[EntityMetadata]) -> None:
        self.metas = list(entities)
        self.connected = True

    async def close(self) -> None:
        self.closed = True

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        yield self.connection_class(self)

    @property
    def schema(self) -> SchemaManager:
        return self._schema

    # -- test helpers ----------------------------------------------------------------------

    def ops(self) -> list[str]:
        """The operations received, in order: ``["begin", "insert", "commit"]``."""
        return [op for op, _ in self.log]

    def writes(self) -> list[Any]:
        """The change batches received (Insert/Update/Delete/PivotBatch), in order."""
        return [payload for op, payload in self.log if op in WRITES]

    def queries(self) -> list[Any]:
        return [payload for op, payload in self.log if op in ("find", "count")]

    def clear_log(self) -> None:
        self.log.clear()

    def fail_when(self, failure: Failure) -> None:
        """``failure(op, payload)`` returns an exception to raise instead of running ``op``."""
        self._failures.append(failure)

    def fail_on(self, op: str, table: str | None = None, exc: BaseException | None = None) -> None:
        """Raise ``exc`` (a RuntimeError by default) on every ``op`` (for ``table``, if given)."""

        def failure(current: str, payload: Any) -> BaseException | None:
            if current != op:
                return None
            if table is not None and _table_of(payload) != table:
                return None
            return exc or RuntimeError(f"fake {op} failure")

        self._failures.append(failure)

    def clear_failures(self) -> None:
        self._failures.clear()

    def add_row(self, meta: EntityMetadata, row: Row) -> None:
        """Store a row as if another process had inserted it."""
        self.tables.setdefault(meta.table, []).append(dict(row))

    def rows(self, meta: EntityMetadata) -> list[Row]:
        return self.tables.get(meta.table, [])

    def next_id(self, table: str) -> int:
        return next(self._ids.setdefault(table, itertools.count(1)))

    # -- used by FakeConnection ------------------------------------------------------------

    def record(self, op: str, payload: Any) -> None:
        self.log.append((op, payload))
        for failure in self._failures:
            exc = failure(op, payload)
            if exc is not None:
                raise exc

    def save(self) -> None:
        self._saved.append((copy.deepcopy(self.tables), copy.deepcopy(self.pivots)))

    def restore(self) -> None:
        self.tables, self.pivots = self._saved.pop()

    def discard_saved(self) -> None:
        self._saved.pop()


def _table_of(payload: Any) -> str | None:
    if isinstance(payload, (InsertBatch, UpdateBatch, DeleteBatch, UpsertBatch)):
        return payload.entity.table
    if isinstance(payload, PivotBatch):
        return payload.prop.pivot_table
    if isinstance(payload, (SelectQuery, CountQuery)):
        return payload.entity.table
    return None


def _server_default_value(literal: str) -> Any:
    """What the fake database stores for a server default: a quoted string or an integer."""
    if literal.startswith("'") and literal.endswith("'"):
        return literal[1:-1]
    return int(literal)


def _key(meta: EntityMetadata, row: Row) -> Key:
    parts: list[Any] = []
    for prop in meta.primary_keys:
        value = row[prop.name]
        if prop.relation is not None:
            parts.extend(value)
        else:
            parts.append(value)
    return tuple(parts)


def _matches(condition: Condition | None, row: Row) -> bool:
    if condition is None:
        return True
    if isinstance(condition, And):
        return all(_matches(c, row) for c in condition.items)
    if isinstance(condition, Or):
        return any(_matches(c, row) for c in condition.items)
    if isinstance(condition, Not):
        return not _matches(condition.item, row)
    if isinstance(condition, Comparison):
        value = row.get(condition.prop.name)
        if condition.op is Op.EQ:
            return bool(value == condition.value)
        if condition.op is Op.NE:
            return bool(value != condition.value)
        if condition.op is Op.IN:
            return value in condition.value
        if condition.op is Op.NIN:
            return value not in condition.value
        if condition.op in _ORDERINGS:
            return value is not None and bool(_ORDERINGS[condition.op](value, condition.value))
    raise NotImplementedError(f"FakeDriver cannot evaluate {condition!r}")


_ORDERINGS: dict[Op, Callable[[Any, Any], bool]] = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
}


def _sort(rows: list[Row], query: SelectQuery) -> list[Row]:
    for item in reversed(query.order_by):
        if len(item.path) != 1:
            raise NotImplementedError("FakeDriver orders by own properties only")
        name = item.path[0].name

        def by_value(row: Row, name: str = name) -> tuple[bool, Any]:
            return (row.get(name) is None, row.get(name))

        rows.sort(key=by_value, reverse=item.descending)
        if item.nulls_first is not None:  # stable: moves the NULLs, keeps the rest in order

            def nulls_placed(row: Row, name: str = name, first: bool = item.nulls_first) -> bool:
                return (row.get(name) is None) != first

            rows.sort(key=nulls_placed)
    return rows


class FakeConnection(Connection):
    def __init__(self, driver: FakeDriver) -> None:
        self.driver = driver
        self.depth = 0

    async def ping(self) -> None:
        self.driver.record("ping", None)

    # -- reads -----------------------------------------------------------------------------

    def _select(self, entity: EntityMetadata, where: Condition | None, pivot: Any) -> list[Row]:
        rows = [dict(r) for r in self.driver.rows(entity) if _matches(where, r)]
        if pivot is None:
            return rows
        prop: PropertyMetadata = pivot.prop
        owning = prop if prop.owner else prop.inverse
        assert owning is not None
        pairs = self.driver.pivots.get(owning.path, [])
        if not prop.owner:
            pairs = [(target, owner) for owner, target in pairs]
        by_key = {_key(entity, r): r for r in rows}
        result = []
        for owner_key, target_key in pairs:
            if owner_key in pivot.owner_keys and target_key in by_key:
                result.append({**by_key[target_key], "__owner__": owner_key})
        return result

    async def find(self, query: SelectQuery) -> list[Row]:
        self.driver.record("find", query)
        rows = _sort(self._select(query.entity, query.where, query.pivot), query)
        start = query.offset or 0
        end = None if query.limit is None else start + query.limit
        return rows[start:end]

    async def count(self, query: CountQuery) -> dict[Key, int] | int:
        self.driver.record("count", query)
        rows = self._select(query.entity, query.where, query.pivot)
        if query.pivot is not None:
            counts: dict[Key, int] = {}
            for row in rows:
                owner = tuple(row["__owner__"])
                counts[owner] = counts.get(owner, 0) + 1
            return counts
        if query.group_by is not None:
            grouped: dict[Key, int] = {}
            for row in rows:
                value = tuple(row[query.group_by.name])
                grouped[value] = grouped.get(value, 0) + 1
            return grouped
        return len(rows)

    # -- writes ----------------------------------------------------------------------------

    async def insert(self, batch: InsertBatch) -> list[Row]:
        self.driver.record("insert", batch)
        table = self.driver.tables.setdefault(batch.entity.table, [])
        generated: list[Row] = []
        for row in batch.rows:
            values = {
                p.name: (
                    self.driver.next_id(batch.entity.table)
                    if p.server_default is None
                    else _server_default_value(p.server_default)
                )
                for p in batch.returning
            }
            table.append({**row, **values})
            generated.append(values)
        return generated

    async def update(self, batch: UpdateBatch) -> int:
        self.driver.record("update", batch)
        count = 0
        version = batch.entity.version_property
        for index, (key, values) in enumerate(batch.rows):
            for row in self.driver.rows(batch.entity):
                if _key(batch.entity, row) == tuple(key):
                    checked = batch.versions is not None and version is not None
                    loaded = batch.versions[index] if batch.versions is not None else None
                    if checked and version is not None and row.get(version.name) != loaded:
                        continue  # optimistic locking: a stale row is left alone
                    row.update(values)
                    count += 1
        return count

    async def delete(self, batch: DeleteBatch) -> int:
        self.driver.record("delete", batch)
        keys = {tuple(k) for k in batch.keys}
        version = batch.entity.version_property
        if version is not None and batch.versions is not None:
            expected = dict(zip((tuple(k) for k in batch.keys), batch.versions, strict=True))
            keys = {
                k
                for k in keys
                if any(
                    _key(batch.entity, r) == k and r.get(version.name) == expected[k]
                    for r in self.driver.rows(batch.entity)
                )
            }
        rows = self.driver.rows(batch.entity)
        kept = [r for r in rows if _key(batch.entity, r) not in keys]
        self.driver.tables[batch.entity.table] = kept
        return len(rows) - len(kept)

    async def write_pivot(self, batch: PivotBatch) -> None:
        self.driver.record("pivot", batch)
        pairs = self.driver.pivots.setdefault(batch.prop.path, [])
        for pair in batch.pairs:
            pair = (tuple(pair[0]), tuple(pair[1]))
            if batch.delete:
                if pair in pairs:
                    pairs.remove(pair)
            else:
                pairs.append(pair)

    async def upsert(self, batch: UpsertBatch) -> list[Row]:
        self.driver.record("upsert", batch)
        raise NotImplementedError("FakeDriver does not upsert")

    # -- transactions ----------------------------------------------------------------------

    async def begin(self, isolation_level: IsolationLevel | None = None) -> None:
        assert self.driver.platform.transactions, "begin() on a platform without transactions"
        self.driver.record("begin", isolation_level)
        self.driver.save()

    async def commit(self) -> None:
        self.driver.record("commit", None)
        self.driver.discard_saved()

    async def rollback(self) -> None:
        self.driver.record("rollback", None)
        self.driver.restore()

    async def savepoint(self, name: str) -> None:
        assert self.driver.platform.savepoints, "savepoint() on a platform without savepoints"
        self.driver.record("savepoint", name)
        self.driver.save()

    async def release_savepoint(self, name: str) -> None:
        self.driver.record("release_savepoint", name)
        self.driver.discard_saved()

    async def rollback_to_savepoint(self, name: str) -> None:
        self.driver.record("rollback_to_savepoint", name)
        self.driver.restore()


class FakeRawConnection(FakeConnection):
    """A fake connection that also runs raw statements (``em.execute``), as SQL ones do."""

    async def run_raw(
        self, statement: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> ExecuteResult:
        self.driver.record("execute", (statement, params))
        return ExecuteResult(rows=[], rowcount=0)


FakeDriver.connection_class = FakeRawConnection


class NoTransactionsDriver(FakeDriver):
    """A fake database without transactions, savepoints or raw statements, like a standalone
    document store."""

    platform = replace(FakeDriver.platform, name="fake-no-tx", transactions=False, savepoints=False)
    connection_class = FakeConnection


class NoSavepointsDriver(FakeDriver):
    """A fake database with transactions but no savepoints."""

    platform = replace(FakeDriver.platform, name="fake-no-sp", savepoints=False)


async def fake_orm(
    entities: Sequence[type[Any]], *, driver: type[FakeDriver] = FakeDriver, **options: Any
) -> ORM:
    """An ORM on a :class:`FakeDriver` (``orm.driver`` is the driver instance)."""
    return await ORM.init(url="fake://", entities=entities, driver=driver, **options)


def driver_of(orm: ORM) -> FakeDriver:
    driver = orm.driver
    assert isinstance(driver, FakeDriver)
    return driver
