"""What an INSERT reports back: generated keys and server defaults, paired with the input rows.

``InsertBatch.returning`` lists the properties the database fills in. With RETURNING they come
back with the INSERT, in no guaranteed row order; without it (MySQL 8) the generated key comes
from the insert id and the server defaults from one SELECT by key afterwards. Either way each
returned row is matched to its input row: by the generated key, which grows in VALUES order,
or else by the primary key the input row holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from orm.core.driver import InsertBatch, Key, Row
from orm.core.loading.hydrator import row_key
from orm.core.metadata.model import ColumnInfo, EntityMetadata, PropertyMetadata

FromDb = Callable[[ColumnInfo, Any], Any]


def decode(
    props: Sequence[PropertyMetadata], raw_rows: Sequence[Sequence[Any]], from_db: FromDb
) -> list[Row]:
    """Rows of ``props``' columns, in that order, as ``{property name: value}`` dicts."""
    columns = [c for prop in props for c in prop.columns]
    decoded: list[Row] = []
    for raw in raw_rows:
        values = [from_db(c, v) for c, v in zip(columns, raw, strict=True)]
        row: Row = {}
        offset = 0
        for prop in props:
            part = values[offset : offset + len(prop.columns)]
            offset += len(prop.columns)
            row[prop.name] = part[0] if prop.relation is None else tuple(part)
        decoded.append(row)
    return decoded


def pairable(batch: InsertBatch) -> bool:
    """Whether the rows one INSERT returns can be matched to its input rows: by a generated
    key, or by the primary key the input rows hold (not when a key is a server default)."""
    generated = batch.entity.generated_pk
    if generated is not None and generated in batch.returning:
        return True
    return not any(prop in batch.returning for prop in batch.entity.primary_keys)


def needs_keys_to_pair(batch: InsertBatch) -> bool:
    """Several rows, and no generated key among the returned properties to pair them by."""
    generated = batch.entity.generated_pk
    return len(batch.rows) > 1 and (generated is None or generated not in batch.returning)


def with_pairing_keys(batch: InsertBatch) -> InsertBatch:
    """``batch`` returning its primary key too, when its rows can only be paired by it."""
    if not needs_keys_to_pair(batch):
        return batch
    keys = tuple(p for p in batch.entity.primary_keys if p not in batch.returning)
    return InsertBatch(batch.entity, batch.properties, batch.rows, (*batch.returning, *keys))


def in_input_order(batch: InsertBatch, returned: list[Row]) -> list[Row]:
    """The ``batch.returning`` values of each input row, in input order."""
    names = [prop.name for prop in batch.returning]
    generated = batch.entity.generated_pk
    if generated is not None and generated in batch.returning:
        ordered = sorted(returned, key=lambda row: row[generated.name])
    elif len(batch.rows) == 1:
        ordered = returned
    else:
        meta = batch.entity
        by_key = {row_key(meta, row): row for row in returned}
        ordered = [by_key[row_key(meta, row)] for row in batch.rows]
    return [{name: row[name] for name in names} for row in ordered]


def merge_by_key(
    meta: EntityMetadata, inserted: list[Row], keys: list[Key], selected: list[Row]
) -> list[Row]:
    """Each inserted row's generated values plus what the SELECT by key read for it."""
    by_key = {row_key(meta, row): row for row in selected}
    key_names = {prop.name for prop in meta.primary_keys}
    merged: list[Row] = []
    for generated, key in zip(inserted, keys, strict=True):
        read = by_key[key]
        merged.append({**generated, **{n: v for n, v in read.items() if n not in key_names}})
    return merged
