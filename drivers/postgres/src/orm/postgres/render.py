"""PostgreSQL-specific rendering.

- Bound values carry their column's type, so asyncpg's ``$n::type`` casts match the column
  (decimals as unscaled ``NUMERIC``: a filter value is compared exactly, not rounded).
- ``$contains`` on JSON is ``jsonb @>``.
- A batched UPDATE of several rows is ``UPDATE t SET c = v.c FROM (VALUES ...) AS v WHERE
  t.pk = v.pk``: one hash join instead of a ``CASE`` with one branch per row for every column.
- Upsert is ``INSERT ... ON CONFLICT (...) DO UPDATE SET c = EXCLUDED.c RETURNING ...``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from orm.core.driver import UpdateBatch, UpsertBatch
from orm.core.metadata.model import ColumnInfo, ScalarKind
from orm.query_builder import SqlRenderer, TypeMapper, ValueConverter

# Types whose name without a length means length 1: a cast must keep the length.
_LENGTH_ONE_BY_DEFAULT = {"bit", "char", "character", "nchar"}


class _CastRawType(sa.types.UserDefinedType[Any]):
    """A ``column_type`` written verbatim that also casts its bind parameters (``$1::bigint``)."""

    cache_ok = True
    render_bind_cast = True

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def get_col_spec(self, **kw: Any) -> str:
        return self.spec


def _cast_spec(spec: str) -> str:
    """The type to cast a parameter to: without length modifiers, which would truncate silently
    (``'too long'::varchar(5)`` is ``'too l'``) instead of failing like an assignment does."""
    bare = " ".join(re.sub(r"\([^)]*\)", " ", spec).split())
    return spec if bare.lower() in _LENGTH_ONE_BY_DEFAULT else bare


class PostgresRenderer(SqlRenderer):
    def __init__(
        self, tables: dict[str, sa.Table], values: ValueConverter, types: TypeMapper
    ) -> None:
        super().__init__(tables, values)
        self.types = types
        self._types: dict[int, tuple[ColumnInfo, sa.types.TypeEngine[Any]]] = {}

    def column_type(self, column: ColumnInfo) -> sa.types.TypeEngine[Any]:
        cached = self._types.get(id(column))
        if cached is None or cached[0] is not column:
            cached = (column, self.types.column_type(column))
            self._types[id(column)] = cached
        return cached[1]

    def values_type(self, column: ColumnInfo) -> sa.types.TypeEngine[Any]:
        """The type of a ``VALUES`` list column: there nothing tells PostgreSQL the type of an
        uncast parameter, so a verbatim ``column_type`` (``bigint``, ``inet``) is cast."""
        type_ = self.column_type(column)
        if isinstance(type_, sa.types.UserDefinedType):
            return _CastRawType(_cast_spec(type_.get_col_spec()))
        return type_

    def bind(self, column: ColumnInfo, value: Any) -> Any:
        return sa.bindparam(None, self.values.to_db(column, value), type_=self.bind_type(column))

    def bind_type(self, column: ColumnInfo) -> sa.types.TypeEngine[Any]:
        """The type a compared value is cast to: the column's, except that a ``NUMERIC(p, s)``
        cast would round the value to the column's scale (10.001 would equal 10.00), so
        decimals are compared as unscaled ``NUMERIC``, exactly, as on the other databases.
        Integers are compared as ``bigint``: a value past a narrower column's range then
        matches nothing, as elsewhere, instead of failing the cast (integer columns' indexes
        serve cross-width comparisons)."""
        type_ = self.column_type(column)
        if column.kind is ScalarKind.DECIMAL and isinstance(type_, sa.Numeric):
            return sa.Numeric(asdecimal=True)
        if column.kind is ScalarKind.INTEGER and isinstance(type_, sa.Integer):
            return sa.BigInteger()
        return type_

    def json_contains(
        self, expr: ColumnElement[Any], column: ColumnInfo, value: Any
    ) -> ColumnElement[bool]:
        """``$contains``: a list/scalar is array containment, a dict is object containment.

        ``{"items": {"$contains": [1, 2]}}`` -> ``items @> '[1, 2]'`` (every element present);
        ``{"items": {"$contains": 1}}`` -> ``items @> '[1]'``; ``{"data": {"$contains": {"a": 1}}}``
        matches an object holding ``"a": 1`` or an array holding such an object.
        """
        # is_comparison: the result is a boolean (NOT of it is NOT, not a JSONB operator).
        contains = expr.op("@>", is_comparison=True)
        if isinstance(value, dict):
            return sa.or_(contains(self._jsonb(value)), contains(self._jsonb([value])))
        items = value if isinstance(value, list) else [value]
        result: ColumnElement[bool] = contains(self._jsonb(items))
        return result

    @staticmethod
    def _jsonb(value: Any) -> ColumnElement[Any]:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return sa.bindparam(None, text, type_=postgresql.JSONB())

    # -- writing ---------------------------------------------------------------------------

    def update(self, batch: UpdateBatch) -> sa.Update:
        if len(batch.rows) == 1:
            return super().update(batch)
        meta = batch.entity
        table = self.tables[meta.table]
        key_columns = meta.pk_columns
        set_columns = [column for prop in batch.properties for column in prop.columns]
        names = [f"orm_key_{i}" for i in range(len(key_columns))] + [c.name for c in set_columns]
        types = [self.values_type(c) for c in [*key_columns, *set_columns]]
        version = meta.version_property if batch.versions is not None else None
        if version is not None:
            # Optimistic locking: each row's loaded version, which the row must still have.
            names.append("orm_version")
            types.append(self.values_type(version.columns[0]))
        to_db = self.values.to_db
        data = []
        for index, (key, row) in enumerate(batch.rows):
            values = self.row_values(meta, batch.properties, row)
            item = tuple(to_db(c, k) for c, k in zip(key_columns, key, strict=True)) + tuple(
                values[c.name] for c in set_columns
            )
            if version is not None and batch.versions is not None:
                loaded = batch.versions[index]
                item += (None if loaded is None else to_db(version.columns[0], loaded),)
            data.append(item)
        source = sa.values(
            *(sa.column(name, type_) for name, type_ in zip(names, types, strict=True)),
            name="v",
        ).data(data)
        conditions = [
            table.c[column.name] == source.c[f"orm_key_{i}"] for i, column in enumerate(key_columns)
        ]
        if version is not None:
            column = table.c[version.columns[0].name]
            conditions.append(column.is_not_distinct_from(source.c["orm_version"]))
        return (
            sa.update(table)
            .values({c.name: source.c[c.name] for c in set_columns})
            .where(*conditions)
        )

    def upsert(
        self, batch: UpsertBatch, rows: Sequence[dict[str, Any]], returning: Sequence[str]
    ) -> sa.Insert:
        """``rows`` are already database values by column name (see ``row_values``)."""
        table = self.tables[batch.entity.table]
        statement = postgresql.insert(table).values(list(rows))
        conflict = [table.c[c.name] for prop in batch.conflict for c in prop.columns]
        update = [c.name for prop in batch.update for c in prop.columns]
        if not update:
            # DO NOTHING would return no row for a conflicting input; a no-op assignment does.
            update = [conflict[0].name]
        statement = statement.on_conflict_do_update(
            index_elements=conflict,
            set_={name: statement.excluded[name] for name in update},
        )
        return statement.returning(*(table.c[name] for name in returning))
