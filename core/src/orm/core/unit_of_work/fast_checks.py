"""The fast path of the value checks: one generated function per entity class.

``all_fit(d)`` takes a new entity's ``__dict__`` and returns True when every persistent value
certainly fits its property. It inlines the common case of each property (an exact type test
plus a bound: ``type(v) is int and -2147483648 <= v <= 2147483647``), so checking a new entity
costs no function call and no allocation per value. When it returns False, or for values it
cannot decide inline (JSON documents, subclasses, text UUIDs...), the per-property checks of
:mod:`value_checks` run and say what is wrong. A property with declared rules
(:mod:`value_rules`) also calls them; the others pay nothing for it. The function is generated
(like a dataclass's ``__init__``) from property names, which are identifiers, and constants
passed by name.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Callable
from typing import Any

from orm.core.metadata.model import PropertyMetadata, ScalarKind
from orm.core.unit_of_work.value_checks import (
    ValueCheck,
    decimal_limits,
    integer_bits,
    string_length,
)
from orm.core.unit_of_work.value_rules import RuleCheck

AllFit = Callable[[dict[str, Any]], bool]

# Kinds whose common case is just an exact type.
_EXACT_TYPES: dict[ScalarKind, type[Any]] = {
    ScalarKind.BOOLEAN: bool,
    ScalarKind.DATETIME: dt.datetime,
    ScalarKind.DATE: dt.date,
    ScalarKind.TIME: dt.time,
    ScalarKind.UUID: uuid.UUID,
}


def compile_all_fit(
    properties: list[tuple[PropertyMetadata, ValueCheck, bool, RuleCheck | None]],
) -> AllFit:
    """``properties``: each persistent property, its check, whether a new row needs it, and
    its declared rules (None: none)."""
    namespace: dict[str, Any] = {
        "type": type,
        "len": len,
        "isfinite": math.isfinite,
        "Decimal": decimal.Decimal,
    }
    lines = []
    for index, (prop, check, required, rules) in enumerate(properties):
        namespace[f"check_{index}"] = check
        fits = _fits_expression(prop, index, namespace)
        if rules is not None:
            namespace[f"rules_{index}"] = rules
            fits = f"({fits}) and rules_{index}(v) is None"
        if required:
            lines.append(f"        v = d[{prop.name!r}]")
            lines.append(f"        if v is None or not ({fits}): return False")
        else:
            lines.append(f"        v = get({prop.name!r})")
            lines.append(f"        if v is not None and not ({fits}): return False")
    # A required attribute that is missing (rare: defaults are set at construction) takes the
    # slow path, which reports it.
    lines += ["    except KeyError:", "        return False", "    return True"]
    # Every name the body uses is bound as a default argument: a local lookup is the fastest.
    parameters = ", ".join(f"{name}={name}" for name in namespace)
    lines[:0] = [f"def all_fit(d, *, {parameters}):", "    get = d.get", "    try:"]
    exec("\n".join(lines), namespace)  # generated from identifiers and constants only
    function: AllFit = namespace["all_fit"]
    return function


def _fits_expression(prop: PropertyMetadata, index: int, namespace: dict[str, Any]) -> str:
    """A Python expression on ``v`` (not None): True when the value fits, inline if possible."""
    fallback = f"check_{index}(v) is None"
    if prop.relation is not None:
        assert prop.target is not None
        namespace[f"cls_{index}"] = prop.target.cls
        return f"type(v) is cls_{index} or {fallback}"
    kind = prop.kind
    if kind is ScalarKind.INTEGER:
        high = 2 ** (integer_bits(prop) - 1)
        return f"(type(v) is int and {-high} <= v <= {high - 1}) or {fallback}"
    if kind is ScalarKind.STRING:
        length = string_length(prop)
        within = f" and len(v) <= {length}" if length is not None else ""
        return f"(type(v) is str{within} and '\\x00' not in v) or {fallback}"
    if kind is ScalarKind.FLOAT:
        return f"(type(v) is float and isfinite(v)) or {fallback}"
    if kind is ScalarKind.DECIMAL:
        limits = decimal_limits(prop)
        if limits is None:
            return f"(type(v) is Decimal and v.is_finite()) or {fallback}"
        quantum, bound = limits
        namespace[f"quantum_{index}"] = quantum
        # same_quantum is False for NaN and infinities, which the fallback then refuses.
        inline = f"type(v) is Decimal and v.same_quantum(quantum_{index})"
        if bound is not None:
            # The digits before the point: adjusted() is the exponent of the leading digit.
            inline += f" and v.adjusted() < {bound.adjusted()}"
        return f"({inline}) or {fallback}"
    if kind is ScalarKind.ENUM:
        namespace[f"enum_{index}"] = prop.enum_type
        return f"type(v) is enum_{index} or {fallback}"
    if kind is ScalarKind.BYTES and prop.length is None:
        return f"type(v) is bytes or {fallback}"
    exact = _EXACT_TYPES.get(kind) if kind is not None else None
    if exact is not None:
        namespace[f"type_{index}"] = exact
        return f"type(v) is type_{index} or {fallback}"
    return fallback
