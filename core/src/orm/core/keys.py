"""Primary keys as flat tuples of column values: the identity of a row."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import uuid
from typing import Any

from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata, ScalarKind
from orm.core.query.limits import check_finite, check_int, check_json, check_text
from orm.core.state import STATE_KEY

Key = tuple[Any, ...]


def entity_key(entity: object, meta: EntityMetadata) -> Key | None:
    """The key of ``entity``, or None while a part of it is unknown (not flushed yet)."""
    d = entity.__dict__
    parts: list[Any] = []
    for prop in meta.primary_keys:
        value = d.get(prop.name)
        if value is None:
            return None
        if prop.target is not None:
            inner = entity_key(value, prop.target)
            if inner is None:
                return None
            parts.extend(inner)
        else:
            parts.append(value)
    return tuple(parts)


def normalize_key(meta: EntityMetadata, value: Any, *, where: str) -> Key:
    """Turn what a user passed as a primary key (a value, tuple or entity) into a key tuple."""
    if STATE_KEY in getattr(value, "__dict__", {}):
        if not isinstance(value, meta.cls):
            raise ValidationError(
                f"{where}: expected a {meta.class_name} or its primary key, got a "
                f"{type(value).__name__} entity"
            )
        key = entity_key(value, meta)
        if key is None:
            raise ValidationError(
                f"{where}: the {meta.class_name} has no primary key yet; flush it before using "
                f"it in a query"
            )
        return key
    columns = meta.pk_columns
    parts = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(parts) != len(columns):
        names = ", ".join(c.name for c in columns)
        raise ValidationError(
            f"{where}: {meta.class_name} has a primary key of {len(columns)} column(s) "
            f"({names}); got {value!r}"
        )
    return tuple(
        coerce_scalar(column.kind, part, where=where, enum_type=column.enum_type)
        for column, part in zip(columns, parts, strict=True)
    )


def coerce_scalar(
    kind: ScalarKind, value: Any, *, where: str, enum_type: type[enum.Enum] | None = None
) -> Any:
    """Check (and lightly convert) a filter or key value for a column of ``kind``."""
    if value is None:
        return None
    if STATE_KEY in getattr(value, "__dict__", {}):
        raise ValidationError(
            f"{where}: expected a {kind.value} value, got a {type(value).__name__} entity"
        )
    if isinstance(value, dict) and any(str(k).startswith("$") for k in value):
        raise ValidationError(
            f"{where}: found the operator(s) {', '.join(map(str, value))} where a value belongs"
        )
    if kind is ScalarKind.UUID and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ValidationError(f"{where}: {value!r} is not a UUID") from None
    if kind is ScalarKind.ENUM and enum_type is not None and not isinstance(value, enum_type):
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in enum_type)
            raise ValidationError(
                f"{where}: {value!r} is not a {enum_type.__name__}; use one of {allowed}"
            ) from None
    if kind is ScalarKind.JSON:
        check_json(value, where=where)
        return value
    if kind is ScalarKind.FLOAT and isinstance(value, decimal.Decimal):
        # Drivers bind a float column's values as floats (SQLite cannot bind a Decimal).
        check_finite(value, where=where)
        if math.isinf(float(value)):
            raise ValidationError(f"{where}: {value!r} is too large for a float property")
        value = float(value)
    if kind is ScalarKind.INTEGER and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationError(f"{where}: expected an int, got {value!r}")
    if kind is ScalarKind.STRING:
        if not isinstance(value, str):
            raise ValidationError(f"{where}: expected a str, got {value!r}")
        check_text(value, where=where)
    expected = _EXPECTED_TYPES.get(kind)
    if expected is not None and (
        not isinstance(value, expected[0])
        or (isinstance(value, bool) and kind is not ScalarKind.BOOLEAN)
    ):
        raise ValidationError(f"{where}: expected {expected[1]}, got {value!r}")
    if kind in _NUMERIC and not isinstance(value, bool):
        if isinstance(value, int):
            check_int(value, where=where)
        else:
            check_finite(value, where=where)
    return value


_NUMERIC = (ScalarKind.INTEGER, ScalarKind.FLOAT, ScalarKind.DECIMAL)


# What a filter or key value of the other kinds must be (INTEGER, STRING, ENUM and JSON are
# handled above; a UUID given as text was converted).
_EXPECTED_TYPES: dict[ScalarKind, tuple[tuple[type[Any], ...], str]] = {
    ScalarKind.FLOAT: ((int, float, decimal.Decimal), "a float"),
    ScalarKind.DECIMAL: ((int, float, decimal.Decimal), "a Decimal"),
    ScalarKind.BOOLEAN: ((bool,), "a bool"),
    ScalarKind.DATETIME: ((dt.datetime,), "a datetime"),
    ScalarKind.DATE: ((dt.date,), "a date"),
    ScalarKind.TIME: ((dt.time,), "a time"),
    ScalarKind.UUID: ((uuid.UUID,), "a UUID"),
    ScalarKind.BYTES: ((bytes, bytearray, memoryview), "bytes"),
}
