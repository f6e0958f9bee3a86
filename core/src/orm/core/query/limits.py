"""The bounds every filter, order and value obeys, checked before anything reaches a database.

* :data:`MAX_FILTER_DEPTH`: how deeply a filter may nest, counting ``$and``/``$or``/``$not``
  levels and relation hops together. A filter is data that often comes from a client; without
  a bound, a few hundred bytes of nesting exhaust Python's recursion limit, and a deep chain of
  relation filters takes seconds for a database to plan.
* :data:`MAX_RELATION_HOPS`: how many relations a filter, an order or a populate path may
  cross from the queried entity (each hop is a join or an EXISTS subquery).
* :data:`MAX_JSON_DEPTH`: how deeply a JSON value compared with a JSON property may nest
  (serialising it recurses).
* :data:`MIN_INT`/:data:`MAX_INT`: the signed 64-bit range every database can bind and compare
  an integer in; outside it SQLite and the drivers fail at execution, differently each.

The parsers descend with a :class:`Nesting` and call :meth:`Nesting.deeper` or
:meth:`Nesting.hop` *before* descending, so the check answers before Python's recursion limit
can.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from typing import Any

from orm.core.errors import ValidationError

MAX_FILTER_DEPTH = 32
MAX_RELATION_HOPS = 8
MAX_JSON_DEPTH = 64
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class Nesting:
    """How deep a parser is in one filter: logical levels plus relation hops, and hops."""

    depth: int = 0
    hops: int = 0

    def deeper(self, where: str) -> Nesting:
        """One ``$and``/``$or``/``$not`` level further in."""
        if self.depth >= MAX_FILTER_DEPTH:
            raise too_deep(where)
        return Nesting(self.depth + 1, self.hops)

    def hop(self, where: str) -> Nesting:
        """Into the filter of a related entity."""
        if self.hops >= MAX_RELATION_HOPS:
            raise too_many_hops(where, "a filter")
        if self.depth >= MAX_FILTER_DEPTH:
            raise too_deep(where)
        return Nesting(self.depth + 1, self.hops + 1)


# Where a filter starts: no level and no hop used yet.
OUTERMOST = Nesting()


def too_deep(where: str) -> ValidationError:
    return ValidationError(
        f"{where}: the filter nests deeper than MAX_FILTER_DEPTH = {MAX_FILTER_DEPTH} levels "
        f"($and/$or/$not levels and relation hops count together); flatten it, e.g. merge "
        f"nested $and lists into one"
    )


def too_many_hops(where: str, what: str) -> ValidationError:
    return ValidationError(
        f"{where}: {what} crosses more than MAX_RELATION_HOPS = {MAX_RELATION_HOPS} relations "
        f"from the queried entity; query from an entity closer to the condition"
    )


def check_hops(count: int, where: str, what: str) -> None:
    """An order or populate path of ``count`` relation hops."""
    if count > MAX_RELATION_HOPS:
        raise too_many_hops(where, what)


def check_int(value: int, *, where: str) -> None:
    """An integer every database can bind: signed 64-bit."""
    if not MIN_INT <= value <= MAX_INT:
        raise ValidationError(
            f"{where}: {value} is outside the signed 64-bit range ({MIN_INT}..{MAX_INT}) that "
            f"every database can compare an integer in"
        )


def check_finite(value: Any, *, where: str) -> None:
    """A float or Decimal filter value that is a number: NaN and ±Infinity compare differently
    per database (MariaDB and SQLite return wrong rows), and a signaling NaN cannot even be
    compared in Python."""
    if isinstance(value, decimal.Decimal):
        finite = value.is_finite()
    elif isinstance(value, float):
        finite = math.isfinite(value)
    else:
        return
    if not finite:
        raise ValidationError(
            f"{where}: {value!r} is not a finite number; NaN and Infinity cannot be compared "
            f"the same way on every database. Filter with $exists or a finite bound instead"
        )


def check_text(value: str, *, where: str) -> None:
    """Text holds no NUL character: PostgreSQL can neither store nor compare one, so a value
    with one would behave differently per database; it is refused everywhere."""
    if "\x00" in value:
        raise ValidationError(
            f"{where}: {value!r} contains a NUL character (U+0000), which text columns cannot "
            f"hold on every database; remove it (or store the data as bytes)"
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (e.g. from a badly decoded byte string) has no UTF-8 form, so
            # no driver can send it.
            raise ValidationError(
                f"{where}: {value!r} contains a lone surrogate, which is not valid Unicode "
                f"text; decode the input correctly (or store the data as bytes)"
            ) from None


_JSON_SCALARS = (str, int, float, bool, type(None))


def check_json(value: Any, *, where: str) -> None:
    """A JSON filter value: dicts with str keys, lists, str, finite numbers, bools and None,
    nested at most :data:`MAX_JSON_DEPTH` levels. Walked without recursion."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            check_text(item, where=where)
        elif isinstance(item, float):
            check_finite(item, where=where)
        elif isinstance(item, _JSON_SCALARS):
            continue
        elif isinstance(item, (dict, list, tuple)):
            if depth >= MAX_JSON_DEPTH:
                raise ValidationError(
                    f"{where}: the JSON value nests deeper than MAX_JSON_DEPTH = "
                    f"{MAX_JSON_DEPTH} levels"
                )
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise ValidationError(
                            f"{where}: JSON object keys are str, got {key!r} in a filter value"
                        )
                    check_text(key, where=where)
                pending.extend((v, depth + 1) for v in item.values())
            else:
                pending.extend((v, depth + 1) for v in item)
        else:
            raise ValidationError(
                f"{where}: a JSON value holds dicts, lists, str, int, float, bool and None; "
                f"got a {type(item).__name__} ({item!r})"
            )
