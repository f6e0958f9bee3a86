"""SQLite-specific rendering: ``$contains`` on JSON through ``json_each``."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.metadata.model import ColumnInfo
from orm.query_builder import SqlRenderer


class SqliteRenderer(SqlRenderer):
    def json_contains(
        self, expr: ColumnElement[Any], column: ColumnInfo, value: Any
    ) -> ColumnElement[bool]:
        items = value if isinstance(value, list) else [value]
        checks = []
        for item in items:
            each = sa.func.json_each(expr).table_valued("value", "type")
            if isinstance(item, (dict, list)):
                match = sa.func.json(each.c.value) == sa.func.json(
                    sa.bindparam(None, json.dumps(item, separators=(",", ":")))
                )
            else:
                match = each.c.value == sa.bindparam(None, item)
            checks.append(sa.select(sa.literal(1)).select_from(each).where(match).exists())
        return sa.and_(*checks)
