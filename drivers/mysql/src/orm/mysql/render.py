"""MySQL/MariaDB rendering: case-sensitive ``$like``/``$re``, JSON operators, upsert.

Tables get a binary collation by default (``MySqlDriver.collation``), so ``$like`` and
``$re`` are case-sensitive as on PostgreSQL and SQLite. With a case-insensitive collation
configured (``collation="utf8mb4_unicode_ci"``), they still compare under the character
set's ``_bin`` collation; ``$ilike`` compares ``LOWER()`` of both sides either way.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.sql.elements import ColumnElement

from orm.core.driver import InsertBatch, UpsertBatch
from orm.core.metadata.model import ColumnInfo, EntityMetadata, ScalarKind
from orm.core.query.ast import Comparison, Op, OrderItem
from orm.mysql.server import ServerInfo
from orm.query_builder import SqlRenderer, ValueConverter

if TYPE_CHECKING:
    from orm.query_builder.render import Scope

Key = tuple[Any, ...]

ORDINAL = "orm_ordinal"


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _same_kind_at_keys(
    expr: ColumnElement[Any], candidate: dict[str, Any], path: str
) -> list[ColumnElement[bool]]:
    """Conditions that the stored value at each key of ``candidate`` that holds an object or a
    scalar is not an array (an object must be an object), recursively through objects. The
    paths are bound parameters."""
    conditions: list[ColumnElement[bool]] = []
    for key, wanted in candidate.items():
        key_path = f"{path}.{json.dumps(key, ensure_ascii=False)}"
        if isinstance(wanted, list):
            continue  # array in array: JSON_CONTAINS and @> agree
        # NULL where the key is missing: JSON_CONTAINS is false there anyway, and a NULL
        # column stays NULL (unknown) under $not, as without these conditions.
        stored_kind = sa.func.json_type(sa.func.json_extract(expr, sa.bindparam(None, key_path)))
        if isinstance(wanted, dict):
            conditions.append(stored_kind == "OBJECT")
            conditions.extend(_same_kind_at_keys(expr, wanted, key_path))
        else:
            conditions.append(stored_kind != "ARRAY")
    return conditions


class MySqlRenderer(SqlRenderer):
    def __init__(
        self,
        tables: dict[str, sa.Table],
        values: ValueConverter,
        *,
        server: ServerInfo,
        charset: str = "utf8mb4",
        collation: str = "utf8mb4_bin",
    ) -> None:
        super().__init__(tables, values)
        self.server = server
        # Columns already compare case-sensitively under a binary collation; otherwise $like
        # and $re switch to one (and cannot use an index).
        self.case_sensitive_collation = None if collation.endswith("_bin") else f"{charset}_bin"

    def _case_sensitive(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.case_sensitive_collation is None:
            return expr
        return expr.collate(self.case_sensitive_collation)

    # -- ordering --------------------------------------------------------------------------

    def order_terms(self, expression: ColumnElement[Any], item: OrderItem) -> list[Any]:
        """MySQL has no ``NULLS FIRST/LAST`` (NULL sorts first ascending, last descending):
        sort on ``x IS NULL`` before ``x``."""
        term = super().order_terms(expression, dataclasses.replace(item, nulls_first=None))
        if item.nulls_first is None:
            return term
        is_null = sa.case((expression.is_(None), 1), else_=0)
        return [is_null.desc() if item.nulls_first else is_null.asc(), *term]

    # -- operators -------------------------------------------------------------------------

    def comparison(self, scope: Scope, node: Comparison) -> ColumnElement[bool]:
        prop, op, value = node.prop, node.op, node.value
        # Query-builder expressions (subqueries, column references) are the base's to render.
        expression = hasattr(type(value), "__orm_expression__")
        if prop.relation is None and value is not None and not expression:
            column = prop.columns[0]
            expr = scope.column(column)
            if op is Op.RE:
                self.check_pattern(node)
                # (?s): '.' matches a newline too, as on PostgreSQL and SQLite.
                return self._case_sensitive(expr).regexp_match("(?s)" + value)
            if column.kind is ScalarKind.JSON and op in (Op.EQ, Op.NE):
                equal = self.json_equals(expr, column, value)
                return equal if op is Op.EQ else sa.or_(sa.not_(equal), expr.is_(None))
        return super().comparison(scope, node)

    def like(self, expr: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        return self._case_sensitive(expr).like(pattern)

    def ilike(self, expr: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        return sa.func.lower(expr).like(sa.func.lower(sa.bindparam(None, pattern)))

    def json_contains(
        self, expr: ColumnElement[Any], column: ColumnInfo, value: Any
    ) -> ColumnElement[bool]:
        # A scalar or a list: every item must be an element of the stored array; a dict: the
        # stored object has those keys with those values (JSON_CONTAINS semantics). A scalar
        # goes in a list, as on PostgreSQL: a stored scalar 1 does not "contain" 1.
        wanted = value if isinstance(value, (dict, list)) else [value]
        contains: ColumnElement[bool] = (
            sa.func.json_contains(expr, sa.bindparam(None, _json_text(wanted))) == 1
        )
        if not isinstance(value, dict):
            return contains
        # JSON_CONTAINS also lets an array at a nested key contain a scalar or an object
        # ({"tags": "x"} in {"tags": ["x"]}); PostgreSQL's @> and SQLite do not, so the stored
        # value at each such key must have the candidate's kind.
        # (An object in a stored array: each element is compared as a whole, as on PostgreSQL.)
        guards = _same_kind_at_keys(expr, value, "$")
        if not guards:
            return contains
        return sa.and_(contains, sa.or_(sa.func.json_type(expr) == "ARRAY", sa.and_(*guards)))

    def json_equals(
        self, expr: ColumnElement[Any], column: ColumnInfo, value: Any
    ) -> ColumnElement[bool]:
        text: ColumnElement[Any] = sa.bindparam(None, _json_text(value))
        if not self.server.mariadb:
            # JSON = JSON compares documents (key order and spacing do not matter).
            return expr == sa.func.json_extract(text, "$")
        if self.server.has_json_equals:
            return sa.func.json_equals(expr, text) == 1
        return sa.func.json_compact(expr) == sa.func.json_compact(text)

    # -- inserts ---------------------------------------------------------------------------

    def insert(self, batch: InsertBatch, *, returning: bool) -> sa.Insert:
        if len(batch.rows) > 1 and not batch.properties and batch.returning:
            # Rows with nothing but a generated key: NULL makes AUTO_INCREMENT pick the value
            # (the base statement would insert a single row).
            table = self.tables[batch.entity.table]
            names = [c.name for prop in batch.returning for c in prop.columns]
            statement = sa.insert(table).values([dict.fromkeys(names) for _ in batch.rows])
            if returning:
                return statement.returning(*(table.c[n] for n in names))
            return statement
        return super().insert(batch, returning=returning)

    # -- deletes of self-referencing rows --------------------------------------------------

    def parents(
        self, meta: EntityMetadata, self_refs: Sequence[str], keys: Sequence[Key]
    ) -> tuple[sa.Select[Any], Callable[[list[Sequence[Any]]], dict[Key, set[Key]]]]:
        """A SELECT of the rows' keys and self-references, and a reader giving, per key, the
        keys of the rows it points to."""
        table = self.tables[meta.table]
        pk_columns = meta.pk_columns
        refs = [meta.properties[name] for name in self_refs]
        selected = [table.c[c.name] for c in pk_columns]
        for prop in refs:
            selected.extend(table.c[c.name] for c in prop.columns)
        statement = sa.select(*selected).where(
            self._keys_in([table.c[c.name] for c in pk_columns], pk_columns, keys)
        )
        from_db = self.values.from_db
        width = len(pk_columns)

        def read(rows: list[Sequence[Any]]) -> dict[Key, set[Key]]:
            parents: dict[Key, set[Key]] = {}
            for row in rows:
                key = tuple(from_db(c, v) for c, v in zip(pk_columns, row[:width], strict=True))
                offset = width
                for prop in refs:
                    values = row[offset : offset + len(prop.columns)]
                    offset += len(prop.columns)
                    if all(v is not None for v in values):
                        parent = tuple(
                            from_db(c, v) for c, v in zip(pk_columns, values, strict=True)
                        )
                        parents.setdefault(key, set()).add(parent)
            return parents

        return statement, read

    # -- upsert ----------------------------------------------------------------------------

    def upsert(self, batch: UpsertBatch, *, returning: bool) -> sa.Insert:
        """``INSERT ... ON DUPLICATE KEY UPDATE`` (any unique key conflicts, not just
        ``batch.conflict``: that is how MySQL works)."""
        table = self.tables[batch.entity.table]
        rows = [self.row_values(batch.entity, batch.properties, row) for row in batch.rows]
        statement: Any = mysql.insert(table).values(rows)
        updates: dict[str, Any] = {
            column.name: statement.inserted[column.name]
            for prop in batch.update
            for column in prop.columns
        }
        if not updates:
            # Nothing to change on conflict: assign a key column to itself (a no-op).
            first = batch.conflict[0].columns[0].name
            updates = {first: table.c[first]}
        statement = statement.on_duplicate_key_update(updates)
        if returning and batch.returning:
            statement = statement.returning(
                *(table.c[c.name] for prop in batch.returning for c in prop.columns)
            )
        return statement  # type: ignore[no-any-return]

    def reselect(self, batch: UpsertBatch) -> sa.Select[Any]:
        """The ``returning`` columns of the upserted rows, one per input row in input order.

        The input's conflict values become a derived table joined on the conflict columns,
        so the database (with the column's collation) decides which row each input hit.
        """
        meta = batch.entity
        table = self.tables[meta.table]
        conflict_columns = [c for prop in batch.conflict for c in prop.columns]
        selects: list[Any] = []
        for index, row in enumerate(batch.rows):
            values = self.row_values(meta, batch.conflict, row)
            selects.append(
                sa.select(
                    sa.literal(index).label(ORDINAL),
                    *(sa.bindparam(None, values[c.name]).label(c.name) for c in conflict_columns),
                )
            )
        union: Any = sa.union_all(*selects) if len(selects) > 1 else selects[0]
        keys = union.subquery("k")
        onclause = sa.and_(*(table.c[c.name] == keys.c[c.name] for c in conflict_columns))
        returned = [table.c[c.name] for prop in batch.returning for c in prop.columns]
        return (
            sa.select(keys.c[ORDINAL], *returned)
            .select_from(keys.join(table, onclause))
            .order_by(keys.c[ORDINAL])
        )
