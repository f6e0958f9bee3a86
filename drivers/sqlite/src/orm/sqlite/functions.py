"""Python functions registered on every SQLite connection, so that SQLite answers the filter
operators as PostgreSQL and MySQL do.

- ``orm_lower(text)``: Unicode lower case for ``$ilike`` (SQLite's ``lower()`` knows ASCII only:
  'É' would not match 'é').
- ``orm_json_contains(document, candidate)``: JSON containment for ``$contains``, as
  PostgreSQL's ``jsonb @>``: an object contains an object whose every key it has, with a
  contained value; an array contains an array whose every element is contained in one of its
  elements; scalars are equal (``true`` is not ``1``, ``1`` is ``1.0``).
"""

from __future__ import annotations

import json
from typing import Any


def orm_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def orm_json_contains(document: Any, candidate: Any) -> int | None:
    if document is None or candidate is None:
        return None
    try:
        stored = json.loads(document) if isinstance(document, (str, bytes)) else document
    except ValueError:
        return 0  # not JSON: contains nothing
    return int(json_contains(stored, json.loads(candidate)))


def json_contains(stored: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(stored, dict) and all(
            key in stored and json_contains(stored[key], value) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return isinstance(stored, list) and all(
            any(json_contains(element, item) for element in stored) for item in wanted
        )
    return _same_scalar(stored, wanted)


def _same_scalar(stored: Any, wanted: Any) -> bool:
    if isinstance(stored, (dict, list)):
        return False
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return stored is wanted
    if isinstance(stored, (int, float)) and isinstance(wanted, (int, float)):
        return stored == wanted
    return type(stored) is type(wanted) and stored == wanted
