"""Change batches as SQLAlchemy Core statements: multi-row INSERT, CASE-per-row UPDATE,
DELETE ... IN, pivot rows; plus the key matching reads share.

Split from render.py: :class:`WriteRenderer` is the base of
:class:`~orm.query_builder.render.SqlRenderer`. Every value is a bound parameter converted by
the driver's :class:`~orm.query_builder.values.ValueConverter`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.driver import DeleteBatch, InsertBatch, PivotBatch, UpdateBatch
from orm.core.metadata.model import ColumnInfo, EntityMetadata, PropertyMetadata
from orm.query_builder.values import ValueConverter

Key = tuple[Any, ...]


class WriteRenderer:
    def __init__(self, tables: dict[str, sa.Table], values: ValueConverter) -> None:
        self.tables = tables
        self.values = values
        self._alias_numbers = itertools.count()

    def restart_aliases(self) -> None:
        """Number the internal aliases of a new top-level statement from zero."""
        self._alias_numbers = itertools.count()

    def next_alias(self, prefix: str) -> str:
        """A fresh alias for a table orm adds to the statement being rendered: ``prefix``
        (``e`` for an entity table, ``p`` for a pivot table, ...) and the next number."""
        return f"{prefix}{next(self._alias_numbers)}"

    def bind(self, column: ColumnInfo, value: Any) -> Any:
        # Values are converted by the ValueConverter; SQLAlchemy only places the parameter.
        return sa.bindparam(None, self.values.to_db(column, value))

    def _key_equals(
        self, exprs: Sequence[ColumnElement[Any]], columns: Sequence[ColumnInfo], key: Key
    ) -> ColumnElement[bool]:
        return sa.and_(*(e == self.bind(c, v) for e, c, v in zip(exprs, columns, key, strict=True)))

    def _keys_in(
        self,
        exprs: Sequence[ColumnElement[Any]],
        columns: Sequence[ColumnInfo],
        keys: Sequence[Key],
    ) -> ColumnElement[bool]:
        if len(exprs) == 1:
            return exprs[0].in_([self.values.to_db(columns[0], k[0]) for k in keys])
        if not keys:
            return sa.false()
        return sa.or_(*(self._key_equals(exprs, columns, k) for k in keys))

    def row_converter(
        self, props: Sequence[PropertyMetadata]
    ) -> Callable[[dict[str, Any]], list[Any]]:
        """A function turning a batch row into its column values, in column order."""
        steps: list[tuple[str, int | None, Callable[[Any], Any] | None]] = []
        for prop in props:
            if prop.relation is None:
                steps.append((prop.name, None, self.values.to_db_function(prop.columns[0])))
            else:
                for index, column in enumerate(prop.columns):
                    steps.append((prop.name, index, self.values.to_db_function(column)))

        def convert(row: dict[str, Any]) -> list[Any]:
            values: list[Any] = []
            for name, index, function in steps:
                value = row[name]
                if index is not None and value is not None:
                    value = value[index]
                values.append(value if function is None or value is None else function(value))
            return values

        return convert

    def row_values(
        self, meta: EntityMetadata, props: Sequence[PropertyMetadata], row: dict[str, Any]
    ) -> dict[str, Any]:
        """One batch row as ``{column name: database value}`` (see :meth:`row_converter`)."""
        names = [column.name for prop in props for column in prop.columns]
        return dict(zip(names, self.row_converter(props)(row), strict=True))

    def insert(self, batch: InsertBatch, *, returning: bool) -> sa.Insert:
        table = self.tables[batch.entity.table]
        rows = [self.row_values(batch.entity, batch.properties, row) for row in batch.rows]
        if rows and rows[0]:
            statement = sa.insert(table).values(rows if len(rows) > 1 else rows[0])
        else:  # every column from its default: INSERT ... DEFAULT VALUES
            statement = sa.insert(table).values({})
        if returning and batch.returning:
            statement = statement.returning(
                *(table.c[c.name] for prop in batch.returning for c in prop.columns)
            )
        return statement

    def select_by_keys(
        self, meta: EntityMetadata, props: Sequence[PropertyMetadata], keys: Sequence[Key]
    ) -> sa.Select[Any]:
        """The key columns, then ``props``' columns, of the rows with these keys: what an
        insert reads back where the platform has no RETURNING (server defaults)."""
        table = self.tables[meta.table]
        key_columns = meta.pk_columns
        key_exprs = [table.c[c.name] for c in key_columns]
        selected = [*key_exprs, *(table.c[c.name] for prop in props for c in prop.columns)]
        return sa.select(*selected).where(self._keys_in(key_exprs, key_columns, keys))

    def pk_matches(self, meta: EntityMetadata, table: sa.Table, key: Key) -> ColumnElement[bool]:
        columns = meta.pk_columns
        return self._key_equals([table.c[c.name] for c in columns], columns, key)

    def version_matches(
        self, meta: EntityMetadata, table: sa.Table, key: Key, version: Any
    ) -> ColumnElement[bool]:
        """The row with this key, only while it still has this version (optimistic locking)."""
        prop = meta.version_property
        assert prop is not None
        column = table.c[prop.columns[0].name]
        check = (
            column.is_(None) if version is None else column == self.bind(prop.columns[0], version)
        )
        return sa.and_(self.pk_matches(meta, table, key), check)

    def _versioned_rows(
        self, meta: EntityMetadata, table: sa.Table, keys: Sequence[Key], versions: Sequence[Any]
    ) -> ColumnElement[bool]:
        return sa.or_(
            *(
                self.version_matches(meta, table, key, version)
                for key, version in zip(keys, versions, strict=True)
            )
        )

    def update(self, batch: UpdateBatch) -> sa.Update:
        meta = batch.entity
        table = self.tables[meta.table]
        pk_columns = meta.pk_columns
        pk_exprs = [table.c[c.name] for c in pk_columns]
        if len(batch.rows) == 1:
            key, row = batch.rows[0]
            values = self.row_values(meta, batch.properties, row)
            if batch.versions is not None:
                where = self.version_matches(meta, table, key, batch.versions[0])
            else:
                where = self.pk_matches(meta, table, key)
            return sa.update(table).where(where).values(values)
        per_row = [(key, self.row_values(meta, batch.properties, row)) for key, row in batch.rows]
        assignments: dict[str, Any] = {}
        for prop in batch.properties:
            for column in prop.columns:
                target = table.c[column.name]
                whens = [
                    (
                        self.pk_matches(meta, table, key),
                        sa.bindparam(None, values[column.name], type_=target.type),
                    )
                    for key, values in per_row
                ]
                assignments[column.name] = sa.case(*whens, else_=target)
        keys = [key for key, _ in batch.rows]
        if batch.versions is not None:
            # Each row only at the version it was loaded with: a stale row is not updated.
            condition = self._versioned_rows(meta, table, keys, batch.versions)
        else:
            condition = self._keys_in(pk_exprs, pk_columns, keys)
        return sa.update(table).where(condition).values(assignments)

    def delete(self, batch: DeleteBatch) -> sa.Delete:
        meta = batch.entity
        table = self.tables[meta.table]
        columns = meta.pk_columns
        if batch.versions is not None:
            return sa.delete(table).where(
                self._versioned_rows(meta, table, batch.keys, batch.versions)
            )
        return sa.delete(table).where(
            self._keys_in([table.c[c.name] for c in columns], columns, batch.keys)
        )

    def pivot(self, batch: PivotBatch) -> sa.Insert | sa.Delete:
        prop = batch.prop
        assert prop.pivot_table is not None and prop.target is not None
        table = self.tables[prop.pivot_table]
        owner_columns, target_columns = prop.entity.pk_columns, prop.target.pk_columns
        if batch.delete:
            matches = [
                sa.and_(
                    self._key_equals(
                        [table.c[n] for n in prop.pivot_owner_columns], owner_columns, owner
                    ),
                    self._key_equals(
                        [table.c[n] for n in prop.pivot_target_columns], target_columns, target
                    ),
                )
                for owner, target in batch.pairs
            ]
            return sa.delete(table).where(sa.or_(*matches))
        rows = []
        for owner, target in batch.pairs:
            row = {}
            for name, column, value in zip(
                prop.pivot_owner_columns, owner_columns, owner, strict=True
            ):
                row[name] = self.values.to_db(column, value)
            for name, column, value in zip(
                prop.pivot_target_columns, target_columns, target, strict=True
            ):
                row[name] = self.values.to_db(column, value)
            rows.append(row)
        return sa.insert(table).values(rows if len(rows) > 1 else rows[0])


# -- shared with the query builder (orm.query_builder.qb) ------------------------------------
