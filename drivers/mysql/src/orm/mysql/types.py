"""Column types and value conversion for MySQL 8 and MariaDB.

===========================  =====================================================
Python (ScalarKind)          column type
===========================  =====================================================
``int``                      ``INTEGER`` (``AUTO_INCREMENT`` for generated keys)
``str``                      ``VARCHAR(n)`` (n = ``length``, default 255), utf8mb4;
                             ``LONGTEXT`` above 16383 characters
``float``                    ``DOUBLE``
``bool``                     ``BOOL`` (= ``TINYINT(1)``)
``Decimal``                  ``DECIMAL(p, s)``; ``DECIMAL(38, 10)`` when neither is given
``datetime``                 ``DATETIME(6)``; aware values are stored as UTC and read back
                             as aware UTC datetimes (no time zone is stored)
``date`` / ``time``          ``DATE`` / ``TIME(6)``
``uuid.UUID``                ``CHAR(32)`` (hex)
``bytes``                    ``LONGBLOB``; ``VARBINARY(n)`` with a ``length`` <= 65535
``Enum``                     ``VARCHAR`` + ``CHECK (... IN (...))``; ``INTEGER`` for int enums
``dict`` / ``list`` (JSON)   ``JSON`` (MySQL: native; MariaDB: ``LONGTEXT`` +
                             ``CHECK (json_valid(...))``)
===========================  =====================================================
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from orm.core.metadata.model import ColumnInfo, ScalarKind
from orm.query_builder import TypeMapper, ValueConverter

DEFAULT_DECIMAL_PRECISION = 38
DEFAULT_DECIMAL_SCALE = 10
# The longest VARCHAR that fits a utf8mb4 row (65535 bytes / 4 bytes per character).
MAX_VARCHAR = 16_383
MAX_VARBINARY = 65_535


class MySqlTypeMapper(TypeMapper):
    def column_type(self, column: ColumnInfo) -> sa.types.TypeEngine[Any]:
        if column.column_type:
            return self.raw_type(column.column_type)
        kind = column.kind
        if kind is ScalarKind.STRING and column.length and column.length > MAX_VARCHAR:
            return mysql.LONGTEXT()
        if kind is ScalarKind.DATETIME:
            return mysql.DATETIME(fsp=6)
        if kind is ScalarKind.TIME:
            return mysql.TIME(fsp=6)
        if kind is ScalarKind.BYTES:
            if column.length and column.length <= MAX_VARBINARY:
                return mysql.VARBINARY(column.length)
            return mysql.LONGBLOB()
        return super().column_type(column)

    def decimal(self, column: ColumnInfo) -> sa.types.TypeEngine[Any]:
        if column.precision is None and column.scale is None:
            return sa.Numeric(DEFAULT_DECIMAL_PRECISION, DEFAULT_DECIMAL_SCALE, asdecimal=True)
        precision = column.precision or DEFAULT_DECIMAL_PRECISION
        return sa.Numeric(precision, column.scale or 0, asdecimal=True)

    def uuid(self) -> sa.types.TypeEngine[Any]:
        return sa.CHAR(32)

    def json(self) -> sa.types.TypeEngine[Any]:
        return mysql.JSON()


class MySqlValueConverter(ValueConverter):
    """pymysql takes and returns ``datetime``/``date``/``Decimal`` natively; TIME comes back as
    a ``timedelta``; aware datetimes are converted to UTC (the column stores no zone)."""

    def from_db(self, column: ColumnInfo, value: Any) -> Any:
        if value is not None and column.kind is ScalarKind.TIME and isinstance(value, dt.timedelta):
            return time_from_timedelta(value)
        return super().from_db(column, value)

    def datetime_to_db(self, column: ColumnInfo, value: dt.datetime) -> Any:
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def datetime_from_db(self, column: ColumnInfo, value: Any) -> dt.datetime:
        result = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        if column.timezone and result.tzinfo is None:
            return result.replace(tzinfo=dt.UTC)
        return result

    def date_to_db(self, value: dt.date) -> Any:
        return value

    def time_to_db(self, value: dt.time) -> Any:
        return value.replace(tzinfo=None)

    def decimal_to_db(self, value: Any) -> Any:
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
        return format(number, "f")

    def decimal_from_db(self, column: ColumnInfo, value: Any) -> decimal.Decimal:
        result = super().decimal_from_db(column, value)
        if column.scale is None:
            # DECIMAL(38, 10) pads with zeros; give back 1.5, not 1.5000000000.
            result = strip_zeros(result)
        return result


def strip_zeros(value: decimal.Decimal) -> decimal.Decimal:
    """``Decimal('1.5000')`` -> ``Decimal('1.5')``; ``Decimal('100.00')`` -> ``Decimal('100')``."""
    if not value.is_finite():
        return value
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return normalized.quantize(decimal.Decimal(1))
    return normalized


def time_from_timedelta(value: dt.timedelta) -> dt.time:
    """pymysql reads TIME as a ``timedelta`` (TIME is a duration, up to 838 hours)."""
    seconds = int(value.total_seconds())
    if value.days < 0 or seconds >= 86_400:
        raise ValueError(
            f"TIME value {value} is outside 00:00:00..23:59:59; store durations in an int or "
            f"a timedelta-friendly column instead"
        )
    return (dt.datetime.min + value).time()
