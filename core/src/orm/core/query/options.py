"""The shape checks of the options of the find family and the query builder.

``limit``/``offset``, ``fields``/``exclude``, ``populate``, ``lock_mode``, flags and page sizes
are often passed straight from a request; each check here raises a :class:`ValidationError`
that names the option and the shape it takes, before any statement is built. What the names
*mean* (properties, relation paths) is checked by the parsers that use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orm.core.errors import ValidationError
from orm.core.query.ast import LockMode
from orm.core.query.limits import MAX_INT


def page_bound(name: str, value: Any) -> int | None:
    """``limit``/``offset``: None or an int in 0..2**63-1 (what every database can bind)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise ValidationError(
            f"{name} must be a non-negative int, got {value!r}; it takes None or an int from "
            f"0 to {MAX_INT} (2**63 - 1)"
        )
    return value


def positive_size(name: str, value: Any) -> int:
    """A batch size: an int from 1 to 2**63-1."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT:
        raise ValidationError(f"{name} must be a positive int (at most 2**63 - 1), got {value!r}")
    return value


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, got {value!r}")
    return value


def name_list(option: str, value: Any, *, what: str, example: str) -> tuple[str, ...]:
    """A list (or tuple) of str, e.g. ``fields=["title"]`` or ``populate=["author"]``;
    ``what`` names the items in the message ("paths", "property names")."""
    if isinstance(value, str):
        raise ValidationError(f"{option} takes a list of {what}, e.g. [{value!r}], not a str")
    if not isinstance(value, Sequence):
        raise ValidationError(
            f"{option} takes a list of {what} (str), e.g. [{example}]; got {value!r}"
        )
    for item in value:
        if not isinstance(item, str):
            raise ValidationError(
                f"{option} takes a list of {what} (str), e.g. [{example}]; got the item "
                f"{item!r} in {value!r}"
            )
    return tuple(value)


def lock_mode(value: Any) -> LockMode | None:
    """None, a :class:`LockMode`, or its value (``"pessimistic_write"``)."""
    if value is None or isinstance(value, LockMode):
        return value
    for mode in LockMode:
        if isinstance(value, str) and value == mode.value:
            return mode
    names = ", ".join(f"LockMode.{m.name}" for m in LockMode)
    raise ValidationError(f"lock_mode must be None or one of {names}, got {value!r}")
