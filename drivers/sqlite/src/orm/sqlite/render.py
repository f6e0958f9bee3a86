"""SQLite-specific rendering, with the functions of :mod:`orm.sqlite.functions`.

- ``$like``/``$ilike`` take ``\\`` as their escape character, as on PostgreSQL and MySQL
  (SQLite has none unless told with ``ESCAPE``).
- ``$ilike`` compares Unicode lower case (``orm_lower``): SQLite's ``lower()`` is ASCII-only.
- ``$contains`` on JSON is ``orm_json_contains``, with PostgreSQL's ``@>`` semantics.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.metadata.model import ColumnInfo
from orm.query_builder import SqlRenderer

LIKE_ESCAPE = "\\"


class SqliteRenderer(SqlRenderer):
    def like(self, expr: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        return expr.like(pattern, escape=LIKE_ESCAPE)

    def ilike(self, expr: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        lowered = sa.func.orm_lower(sa.bindparam(None, pattern, type_=sa.String()))
        return sa.func.orm_lower(expr).like(lowered, escape=LIKE_ESCAPE)

    def json_contains(
        self, expr: ColumnElement[Any], column: ColumnInfo, value: Any
    ) -> ColumnElement[bool]:
        """A list/scalar: every item is an element of the stored array; a dict: the stored
        object (or an element of the stored array) contains it (as ``@>`` on PostgreSQL)."""
        if isinstance(value, dict):
            return sa.or_(self._contains(expr, value), self._contains(expr, [value]))
        return self._contains(expr, value if isinstance(value, list) else [value])

    @staticmethod
    def _contains(expr: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        found: ColumnElement[bool] = sa.func.orm_json_contains(expr, sa.bindparam(None, text)) == 1
        return found
