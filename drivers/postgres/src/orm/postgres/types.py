"""PostgreSQL column types and the Python <-> asyncpg value conversions.

=================  ==============================  =========================================
Python             PostgreSQL                      notes
=================  ==============================  =========================================
int                integer (serial for keys)       ``column_type="bigint"`` for 64-bit
str                varchar(n) (n=255 by default)   ``column_type="text"`` for text
float              double precision
bool               boolean
Decimal            numeric(p, s)                   ``Property(precision=, scale=)``
datetime (aware)   timestamp with time zone        the default (``timezone=True``)
datetime (naive)   timestamp without time zone     ``Property(timezone=False)``
date / time        date / time without time zone
UUID               uuid                            native, no text conversion
bytes              bytea
Enum (str values)  varchar(n) + CHECK (values)     portable; see docs/drivers/postgres.md
Enum (int values)  integer
dict / list        jsonb
=================  ==============================  =========================================

Time zones: a ``timestamptz`` column stores an instant. Aware datetimes keep their instant and
come back in UTC; a naive datetime given to a ``timestamptz`` column is taken as UTC (not as the
machine's local time). A ``timestamp`` column (``timezone=False``) stores wall-clock time: a naive
datetime is stored as is; an aware one is converted to UTC and stored without its offset.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from orm.core.metadata.model import ColumnInfo
from orm.query_builder import TypeMapper, ValueConverter


class PostgresTypeMapper(TypeMapper):
    def json(self) -> sa.types.TypeEngine[Any]:
        return postgresql.JSONB()


class PostgresValueConverter(ValueConverter):
    """asyncpg takes and returns native Python objects for most types; JSON travels as text."""

    def decimal_to_db(self, value: Any) -> decimal.Decimal:
        if isinstance(value, decimal.Decimal):
            return value
        if isinstance(value, float):
            return decimal.Decimal(repr(value))
        return decimal.Decimal(value)

    def uuid_to_db(self, value: Any) -> uuid.UUID:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))

    def datetime_to_db(self, column: ColumnInfo, value: dt.datetime) -> dt.datetime:
        if column.timezone:
            # A naive value is taken as UTC: asyncpg would read it as the process's local time.
            return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def datetime_from_db(self, column: ColumnInfo, value: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        return dt.datetime.fromisoformat(str(value))

    def date_to_db(self, value: dt.date) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        return value

    def time_to_db(self, value: dt.time) -> dt.time:
        # A ``time without time zone`` column: keep the wall-clock time, drop any offset.
        return value.replace(tzinfo=None) if value.tzinfo is not None else value
