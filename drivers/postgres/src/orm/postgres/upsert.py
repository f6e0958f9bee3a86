"""Upsert: ``INSERT ... ON CONFLICT (conflict columns) DO UPDATE SET c = EXCLUDED.c RETURNING``.

RETURNING's row order is not guaranteed, so returned rows are matched to input rows by the
values of the conflict columns. Input rows repeating a conflict key are merged first (the last
one wins, as if they were upserted one after the other), because PostgreSQL refuses to update
one row twice in a statement; each of them then receives that row's values. Batches are split
below the wire protocol's 32767 parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orm.core.driver import Row, UpsertBatch
from orm.core.errors import DriverError, ValidationError
from orm.core.metadata.model import ColumnInfo, PropertyMetadata

if TYPE_CHECKING:
    from orm.postgres.connection import PostgresConnection

Key = tuple[Any, ...]


async def run_upsert(connection: PostgresConnection, batch: UpsertBatch) -> list[Row]:
    """One dict of ``batch.returning`` values per input row, in input order."""
    meta = batch.entity
    if not batch.conflict:
        raise ValidationError(
            f"upsert of {meta.class_name} needs conflict properties (the primary key or "
            f"unique properties)"
        )
    driver = connection.driver
    renderer, values = driver.renderer, driver.values
    conflict = [c for prop in batch.conflict for c in prop.columns]
    columns = {c.name: c for c in conflict}
    columns.update((c.name, c) for prop in batch.returning for c in prop.columns)
    names = list(columns)  # conflict columns first, then the returned ones

    def key_of(db_values: dict[str, Any]) -> Key:
        return tuple(_hashable(db_values[c.name]) for c in conflict)

    input_keys: list[Key] = []
    distinct: dict[Key, dict[str, Any]] = {}
    for row in batch.rows:
        db_row = renderer.row_values(meta, batch.properties, row)
        key = key_of(db_row)
        input_keys.append(key)
        distinct.pop(key, None)  # the last occurrence wins and keeps its place
        distinct[key] = db_row
    pending = list(distinct.values())
    if not pending:
        return []
    chunk = max(1, driver.platform.max_parameters // max(1, len(pending[0])))
    stored: dict[Key, dict[str, Any]] = {}
    for start in range(0, len(pending), chunk):
        statement = renderer.upsert(batch, pending[start : start + chunk], names)
        for raw in await connection.fetch(statement, table=meta.table):
            record = {
                name: values.from_db(columns[name], value)
                for name, value in zip(names, raw, strict=True)
            }
            # Compare as the database sees values: the same conversion as the input rows.
            stored[key_of(_to_db(values.to_db, columns, record))] = record
    result: list[Row] = []
    for key in input_keys:
        found = stored.get(key)
        if found is None:
            raise DriverError(
                f"upsert of {meta.class_name}: no returned row matches the input row with "
                f"{dict(zip([c.name for c in conflict], key, strict=True))!r}; a trigger or "
                f"the column type changed the conflict values on the way in",
                table=meta.table,
            )
        result.append({prop.name: _property_value(prop, found) for prop in batch.returning})
    return result


def _to_db(to_db: Any, columns: dict[str, ColumnInfo], record: dict[str, Any]) -> dict[str, Any]:
    return {name: to_db(columns[name], value) for name, value in record.items()}


def _property_value(prop: PropertyMetadata, record: dict[str, Any]) -> Any:
    if prop.relation is None:
        return record[prop.columns[0].name]
    parts = tuple(record[c.name] for c in prop.columns)
    return None if all(p is None for p in parts) else parts


def _hashable(value: Any) -> Any:
    """Dict keys from database values: JSON documents and buffers become hashable."""
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, dict)):
        return repr(value)
    return value
