"""One small check per property, compiled once per entity class, for the values a flush writes.

A check takes a non-None value and returns ``None`` when the value fits the property, or a
short text saying what was expected. The success path of every check allocates nothing (exact
``type(value) is ...`` tests first), because it runs for every value of every new entity and
every changed value of every dirty one. The rules are the same on every database: a value that
one database would reject, truncate, round or turn into NULL is refused on all of them, before
anything is sent (see docs/unit-of-work.md, "Values are checked at flush").
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import typing
import uuid
from collections.abc import Callable
from typing import Any

from orm.core.metadata.model import PropertyMetadata, ScalarKind
from orm.core.state import STATE_KEY

# None: the value fits; otherwise what the property expects, e.g. "an int".
ValueCheck = Callable[[Any], str | None]

# The schema generator declares an ``int`` property as ``integer``: 32 bits on PostgreSQL and
# MySQL. A ``column_type`` names another width; one we do not know is taken as 64 bits, the
# widest integer every driver can bind.
_INTEGER_BITS = {
    "tinyint": 8,
    "smallint": 16,
    "int2": 16,
    "mediumint": 24,
    "integer": 32,
    "int": 32,
    "int4": 32,
    "serial": 32,
    "bigint": 64,
    "int8": 64,
    "bigserial": 64,
}
_DEFAULT_INTEGER_BITS = 32
_WIDEST_INTEGER_BITS = 64
# varchar(255) when neither ``length`` nor ``column_type`` is given (the schema generator's).
DEFAULT_STRING_LENGTH = 255


def integer_bits(prop: PropertyMetadata) -> int:
    """How many bits the column of an ``int`` property holds (signed)."""
    if prop.column_type is None:
        return _DEFAULT_INTEGER_BITS
    words = prop.column_type.strip().lower().replace("(", " ").split()
    if not words:
        return _WIDEST_INTEGER_BITS
    return _INTEGER_BITS.get(words[0], _WIDEST_INTEGER_BITS)


def string_length(prop: PropertyMetadata) -> int | None:
    """The most characters the column holds; None when a raw ``column_type`` decides."""
    if prop.length is not None:
        return prop.length
    return DEFAULT_STRING_LENGTH if prop.column_type is None else None


def compile_check(prop: PropertyMetadata) -> ValueCheck:
    """The check of one persistent property (a scalar, or the foreign key of a to-one)."""
    if prop.relation is not None:
        assert prop.target is not None
        return _entity_check(prop.target.cls, prop.target.class_name)
    kind = prop.kind
    if kind is ScalarKind.INTEGER:
        return _integer_check(integer_bits(prop))
    if kind is ScalarKind.STRING:
        return _string_check(string_length(prop))
    if kind is ScalarKind.FLOAT:
        return _float_check
    if kind is ScalarKind.BOOLEAN:
        return _bool_check
    if kind is ScalarKind.DECIMAL:
        return _decimal_check(prop)
    if kind is ScalarKind.DATETIME:
        return _datetime_check
    if kind is ScalarKind.DATE:
        return _date_check
    if kind is ScalarKind.TIME:
        return _time_check
    if kind is ScalarKind.UUID:
        return _uuid_check
    if kind is ScalarKind.BYTES:
        return _bytes_check(prop.length)
    if kind is ScalarKind.ENUM:
        assert prop.enum_type is not None
        return _enum_check(prop.enum_type)
    if kind is ScalarKind.JSON:
        container = typing.get_origin(prop.python_type) or prop.python_type
        return _json_check(container if container in (dict, list) else None)
    raise AssertionError(f"no value check for {prop.path} ({kind})")


# -- the checks, one per kind ----------------------------------------------------------------


def _entity_check(cls: type[Any], name: str) -> ValueCheck:
    expected = f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name} entity"

    def check(value: Any) -> str | None:
        if type(value) is cls or (isinstance(value, cls) and STATE_KEY in value.__dict__):
            return None
        return expected

    return check


def _integer_check(bits: int) -> ValueCheck:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    expected = f"an int from {low} to {high} (a {bits}-bit column)"
    hint = "" if bits >= _WIDEST_INTEGER_BITS else '; declare Property(column_type="bigint")'

    def check(value: Any) -> str | None:
        if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
            if low <= value <= high:
                return None
            return expected + hint
        return "an int (a bool is not an int)" if isinstance(value, bool) else "an int"

    return check


def _string_check(length: int | None) -> ValueCheck:
    limit = length if length is not None else -1
    too_long = f"at most {length} characters (Property(length=...) declares the column's size)"

    def check(value: Any) -> str | None:
        if type(value) is str or isinstance(value, str):
            if "\x00" in value:
                return "text without NUL characters (U+0000), which PostgreSQL cannot store"
            if limit < 0 or len(value) <= limit:
                return None
            return too_long
        return "a str"

    return check


_isfinite = math.isfinite


def _float_check(value: Any) -> str | None:
    if type(value) is float:
        return None if _isfinite(value) else _FINITE_FLOAT
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if _isfinite(value) else _FINITE_FLOAT
    return "a float (or an int)"


# SQLite stores NaN as NULL and MySQL refuses NaN and infinities: they are refused everywhere.
_FINITE_FLOAT = "a finite float (NaN and infinities are not stored alike by every database)"


def _bool_check(value: Any) -> str | None:
    return None if type(value) is bool else "a bool (True or False; 0 and 1 are ints)"


def decimal_limits(prop: PropertyMetadata) -> tuple[decimal.Decimal, decimal.Decimal | None] | None:
    """For a Decimal property with a declared size: the quantum of its scale and the bound its
    absolute value stays under (None: no bound). A value with exactly that quantum and within
    the bound fits, which is checked without allocating. None when no size is declared."""
    precision, scale = prop.precision, prop.scale
    if precision is None and scale is None:
        return None
    scale = scale or 0
    bound = decimal.Decimal(10 ** (precision - scale)) if precision is not None else None
    return decimal.Decimal(1).scaleb(-scale), bound


def _decimal_check(prop: PropertyMetadata) -> ValueCheck:
    limits = decimal_limits(prop)
    precision = prop.precision
    # numeric(p) has scale 0; with only a scale, the integer part is not limited here.
    scale = prop.scale if prop.scale is not None else 0
    whole_digits = precision - scale if precision is not None else None
    int_limit = 10**whole_digits if whole_digits is not None else None
    declared = f"numeric({precision}, {scale})" if precision is not None else f"scale {scale}"
    fits = (
        f"a Decimal with at most {whole_digits} digit(s) before the point and {scale} after "
        f"({declared})"
        if whole_digits is not None
        else f"a Decimal with at most {scale} digit(s) after the point ({declared})"
    )

    def check(value: Any) -> str | None:
        if type(value) is decimal.Decimal or isinstance(value, decimal.Decimal):
            if not value.is_finite():
                return "a finite Decimal (NaN and infinities cannot be stored)"
            if limits is None:
                return None
            quantum, bound = limits
            if value.same_quantum(quantum) and (bound is None or -bound < value < bound):
                return None
            return None if _decimal_fits(value, whole_digits, scale) else fits
        if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
            if int_limit is None or -int_limit < value < int_limit:
                return None
            return fits
        if isinstance(value, float):
            return "a Decimal (or an int); a float is inexact: pass Decimal(str(x))"
        return "a Decimal (or an int)"

    return check


def _decimal_fits(value: decimal.Decimal, whole_digits: int | None, scale: int) -> bool:
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    fraction = -exponent if exponent < 0 else 0
    if fraction > scale:
        # The database would round; only trailing zeros may go.
        if any(digits[len(digits) - (fraction - scale) :]):
            return False
        digits = digits[: len(digits) - (fraction - scale)]
        exponent = -scale
    if whole_digits is None or not any(digits):
        return True
    return len(digits) + exponent <= whole_digits


def _datetime_check(value: Any) -> str | None:
    # Naive and aware values are both accepted, as every driver takes them (docs/drivers.md).
    return None if isinstance(value, dt.datetime) else "a datetime"


def _date_check(value: Any) -> str | None:
    if type(value) is dt.date:
        return None
    if isinstance(value, dt.datetime):
        return "a date, not a datetime (its time would be lost): pass value.date()"
    return None if isinstance(value, dt.date) else "a date"


def _time_check(value: Any) -> str | None:
    return None if isinstance(value, dt.time) else "a time"


def _uuid_check(value: Any) -> str | None:
    if type(value) is uuid.UUID or isinstance(value, uuid.UUID):
        return None
    if isinstance(value, str):
        # Every driver converts a UUID written as text, as filters and keys accept it.
        try:
            uuid.UUID(value)
        except ValueError:
            return "a UUID (or its text form); this text is not a UUID"
        return None
    return "a UUID"


def _bytes_check(length: int | None) -> ValueCheck:
    limit = length if length is not None else -1
    too_long = f"at most {length} bytes (Property(length=...))"

    def check(value: Any) -> str | None:
        if type(value) is bytes or isinstance(value, (bytes, bytearray)):
            return None if limit < 0 or len(value) <= limit else too_long
        return "bytes"

    return check


def _enum_check(enum_type: type[enum.Enum]) -> ValueCheck:
    values = {member.value for member in enum_type}
    allowed = ", ".join(f"{enum_type.__name__}.{m.name}" for m in enum_type)
    expected = f"a {enum_type.__name__} ({allowed}) or one of its values"

    def check(value: Any) -> str | None:
        if type(value) is enum_type or isinstance(value, enum_type):
            return None
        if isinstance(value, (enum.Enum, bool)):
            return expected
        try:
            return None if value in values else expected
        except TypeError:  # unhashable
            return expected

    return check


def _json_check(container: type[Any] | None) -> ValueCheck:
    expected = (
        "a dict" if container is dict else "a list" if container is list else "a dict or a list"
    )

    def check(value: Any) -> str | None:
        if container is not None and not isinstance(value, container):
            return f"{expected} (JSON)"
        if container is None and not isinstance(value, (dict, list)):
            return f"{expected} (JSON)"
        return json_problem(value)

    return check


def json_problem(document: Any) -> str | None:
    """What in a JSON document would not come back as written, or None."""
    # Each entry: (value, its parent entry, its key or index); the path is built on failure only.
    pending: list[tuple[Any, Any, Any]] = [(document, None, None)]
    while pending:
        entry = pending.pop()
        value = entry[0]
        kind = type(value)
        if kind is str:
            if "\x00" in value:
                return f"JSON without NUL characters (U+0000) (at {_json_path(entry)})"
        elif kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return (
                        f"JSON with text keys only (the {type(key).__name__} key {key!r} at "
                        f"{_json_path(entry)} would come back as text)"
                    )
                pending.append((item, entry, key))
        elif kind is list:
            pending.extend((item, entry, i) for i, item in enumerate(value))
        elif kind is float:
            if not _isfinite(value):
                return f"JSON numbers that are finite (at {_json_path(entry)})"
        elif value is not None and kind is not int and kind is not bool:
            return (
                f"JSON values only (dict, list, str, int, float, bool, None), not a "
                f"{kind.__name__} (at {_json_path(entry)})"
            )
    return None


def _json_path(entry: tuple[Any, Any, Any]) -> str:
    keys = []
    while entry[1] is not None:
        keys.append(f"[{entry[2]!r}]")
        entry = entry[1]
    return "".join(reversed(keys)) or "the top"
