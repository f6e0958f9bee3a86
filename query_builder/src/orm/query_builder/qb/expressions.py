"""The small grammar of strings a query builder accepts in ``select``, ``group_by``,
``order_by`` and ``having``: property paths and aggregates, never SQL text.

::

    item      := expression [ "as" label ]
    expression:= aggregate | path | [alias "."] "*"
    aggregate := ("count" | "sum" | "avg" | "min" | "max") "(" ["distinct"] (path | "*") ")"
    path      := name ("." name)*          -- the first name may be an alias

Names are identifiers; they are resolved against the aliases and the entity metadata later,
and anything that does not parse is a :class:`ValidationError` (use ``raw()`` for SQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orm.core.errors import ValidationError

AGGREGATES = ("count", "sum", "avg", "min", "max")

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PATH = rf"{_NAME}(?:\s*\.\s*{_NAME})*"
_ITEM = re.compile(
    rf"""\A\s*(?:
        (?P<function>{_NAME})\s*\(\s*(?P<distinct>distinct\s+)?(?P<argument>\*|{_PATH})\s*\)
      | (?:(?P<star_alias>{_NAME})\s*\.\s*)?(?P<star>\*)
      | (?P<path>{_PATH})
    )(?:\s+as\s+(?P<label>{_NAME}))?\s*\Z""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class Path:
    """``b.author.name``: names as written; the first may be an alias."""

    names: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join(self.names)


@dataclass(frozen=True)
class Star:
    """``*`` (the root alias) or ``a.*``: every column of an alias's entity."""

    alias: str | None


@dataclass(frozen=True)
class Aggregate:
    function: str  # lower case, one of AGGREGATES
    argument: Path | None  # None: ``*``
    distinct: bool = False

    def __str__(self) -> str:
        inner = "*" if self.argument is None else str(self.argument)
        return f"{self.function}({'distinct ' if self.distinct else ''}{inner})"


Expression = Path | Star | Aggregate


@dataclass(frozen=True)
class Item:
    expression: Expression
    label: str | None


def parse_item(text: str, *, where: str) -> Item:
    """Parse ``"count(b.id) as n"``, ``"b.title"``, ``"a.*"``... (``where`` names the call)."""
    if not isinstance(text, str):
        raise ValidationError(f"{where}: expected a str such as 'b.title', got {text!r}")
    match = _ITEM.match(text)
    if match is None:
        raise ValidationError(
            f"{where}: cannot read {text!r}; write a property path ('b.title', 'a.name'), "
            f"'*', 'a.*', or an aggregate ({', '.join(f'{a}(b.id)' for a in AGGREGATES)}) "
            f"optionally followed by 'as <name>'; for any other SQL use raw('...', params)"
        )
    label = match.group("label")
    if match.group("star") is not None:
        return Item(Star(match.group("star_alias")), label)
    if match.group("path") is not None:
        return Item(_path(match.group("path")), label)
    function = match.group("function").lower()
    if function not in AGGREGATES:
        raise ValidationError(
            f"{where}: unknown aggregate {match.group('function')!r} in {text!r}; use one of "
            f"{', '.join(AGGREGATES)}, or raw('...') for other SQL functions"
        )
    argument_text = match.group("argument")
    distinct = match.group("distinct") is not None
    if argument_text == "*":
        if function != "count" or distinct:
            raise ValidationError(
                f"{where}: {text!r}: only count(*) takes '*'; name a property, e.g. "
                f"{function}(b.price)"
            )
        return Item(Aggregate(function, None), label)
    return Item(Aggregate(function, _path(argument_text), distinct), label)


def parse_expression(text: str, *, where: str) -> Expression:
    """An expression without a label (``group_by``, ``order_by`` and ``having`` keys)."""
    item = parse_item(text, where=where)
    if item.label is not None:
        raise ValidationError(f"{where}: {text!r}: 'as <name>' belongs in select() only")
    return item.expression


def _path(text: str) -> Path:
    return Path(tuple(part.strip() for part in text.split(".")))
