"""Python names for database names: classes, properties, relations."""

from __future__ import annotations

import keyword
import re

from orm.core.metadata.naming import snake_case

# Keywords, and names the generated modules use as types.
_RESERVED = set(keyword.kwlist) | {
    "self",
    "cls",
    "Any",
    "Collection",
    "dt",
    "uuid",
    "Decimal",
    "TYPE_CHECKING",
    "bytes",
    "str",
    "int",
    "float",
    "bool",
    "dict",
    "list",
    "entity",
}


def class_name(table: str) -> str:
    """``invoice_line`` / ``InvoiceLine`` / ``invoice-lines`` -> ``InvoiceLine`` (-s kept)."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", snake_case(table)) if p]
    name = "".join(part[:1].upper() + part[1:] for part in parts) or "Table"
    return f"T{name}" if name[0].isdigit() else name


def property_name(column: str) -> str:
    name = re.sub(r"[^0-9a-z_]+", "_", snake_case(column).lower()).strip("_") or "column"
    if name[0].isdigit():
        name = f"c_{name}"
    return f"{name}_" if name in _RESERVED else name


def relation_name(columns: list[str], target_class: str) -> str:
    """``ArtistId`` -> ``artist``; ``support_rep_id`` -> ``support_rep``; else the target."""
    if len(columns) == 1:
        base = property_name(columns[0])
        for suffix in ("_id", "_fk", "_key"):
            if base.endswith(suffix) and len(base) > len(suffix):
                return base[: -len(suffix)]
        return base
    return property_name(target_class)


def plural(name: str) -> str:
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return f"{name}es"
    if name.endswith("y") and len(name) > 1 and name[-2] not in "aeiou":
        return f"{name[:-1]}ies"
    return f"{name}s"


def unique_name(wanted: str, taken: set[str]) -> str:
    name, number = wanted, 2
    while name in taken:
        name = f"{wanted}_{number}"
        number += 1
    taken.add(name)
    return name
