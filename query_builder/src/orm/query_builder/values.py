"""Python values to database values and back, per column kind.

The base class suits a database with few native types (SQLite); drivers override the kinds
their database library handles natively.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable
from typing import Any

from orm.core.metadata.model import ColumnInfo, ScalarKind


class ValueConverter:
    # Kinds whose Python values the database library takes as they are.
    passthrough_kinds: frozenset[ScalarKind] = frozenset(
        {ScalarKind.INTEGER, ScalarKind.STRING, ScalarKind.FLOAT, ScalarKind.BYTES}
    )

    def to_db_function(self, column: ColumnInfo) -> Callable[[Any], Any] | None:
        """A converter for one column's values, or None when values pass through unchanged."""
        if column.kind in self.passthrough_kinds:
            return None
        convert = self.to_db
        return lambda value: convert(column, value)

    # Kinds the database library already returns as the Python value (no from_db call).
    identity_from_db_kinds: frozenset[ScalarKind] = frozenset(
        {ScalarKind.INTEGER, ScalarKind.STRING}
    )

    def from_db_function(self, column: ColumnInfo) -> Callable[[Any], Any] | None:
        """A converter for one column's non-NULL values, or None when they are used as read."""
        if column.kind in self.identity_from_db_kinds:
            return None
        convert = self.from_db
        return lambda value: convert(column, value)

    def to_db(self, column: ColumnInfo, value: Any) -> Any:
        if value is None:
            return None
        kind = column.kind
        if kind is ScalarKind.ENUM:
            return value.value if hasattr(value, "value") else value
        if kind is ScalarKind.JSON:
            return self.json_to_db(value)
        if kind is ScalarKind.DECIMAL:
            return self.decimal_to_db(value)
        if kind is ScalarKind.UUID:
            return self.uuid_to_db(value)
        if kind is ScalarKind.DATETIME:
            return self.datetime_to_db(column, value)
        if kind is ScalarKind.DATE:
            return self.date_to_db(value)
        if kind is ScalarKind.TIME:
            return self.time_to_db(value)
        if kind is ScalarKind.BOOLEAN:
            return bool(value)
        return value

    def from_db(self, column: ColumnInfo, value: Any) -> Any:
        if value is None:
            return None
        kind = column.kind
        if kind is ScalarKind.ENUM:
            assert column.enum_type is not None
            enum_type = column.enum_type
            if isinstance(value, str) and not isinstance(next(iter(enum_type)).value, str):
                value = int(value)
            return enum_type(value)
        if kind is ScalarKind.JSON:
            return self.json_from_db(value)
        if kind is ScalarKind.DECIMAL:
            return self.decimal_from_db(column, value)
        if kind is ScalarKind.UUID:
            return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        if kind is ScalarKind.DATETIME:
            return self.datetime_from_db(column, value)
        if kind is ScalarKind.DATE:
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
        if kind is ScalarKind.TIME:
            return value if isinstance(value, dt.time) else dt.time.fromisoformat(value)
        if kind is ScalarKind.BOOLEAN:
            return bool(value)
        if kind is ScalarKind.FLOAT:
            return float(value)
        if kind is ScalarKind.BYTES:
            return bytes(value)
        return value

    # -- overridable pieces ----------------------------------------------------------------

    def json_to_db(self, value: Any) -> Any:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def json_from_db(self, value: Any) -> Any:
        if isinstance(value, (str, bytes, bytearray)):
            return json.loads(value)
        return value

    def decimal_to_db(self, value: Any) -> Any:
        return str(value)

    def decimal_from_db(self, column: ColumnInfo, value: Any) -> decimal.Decimal:
        result = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
        if column.scale is not None:
            # Enough digits for the column (the default context's 28 would refuse NUMERIC(30)).
            digits = max(28, column.precision or 0, len(result.as_tuple().digits) + column.scale)
            result = result.quantize(
                decimal.Decimal(1).scaleb(-column.scale), context=decimal.Context(prec=digits)
            )
        return result

    def uuid_to_db(self, value: Any) -> Any:
        return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).hex

    def datetime_to_db(self, column: ColumnInfo, value: dt.datetime) -> Any:
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat(sep=" ")

    def datetime_from_db(self, column: ColumnInfo, value: Any) -> dt.datetime:
        return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)

    def date_to_db(self, value: dt.date) -> Any:
        return value.isoformat()

    def time_to_db(self, value: dt.time) -> Any:
        return value.isoformat()
