"""Filters on JSON properties: null, equality and ``$contains``, exactly as on SQL.

A JSON field may hold an array, and MongoDB's query operators look into arrays: ``{f: 1}``
also matches ``[1, 2]``, ``{f: null}`` also matches ``[null]``. So every test here guards
against the array it must not look into, with ``$type`` (``$not: {$type: "array"}``) or
``$elemMatch``.

``$contains`` follows PostgreSQL's ``@>`` (and the SQL drivers' wrapping of the candidate): a
dict matches a stored object containing it or a stored array holding such an object, a list
matches a stored array holding each of its items, a scalar a stored array holding it. An
object contains an object whose every key it has with a contained value; an array contains
an array whose every item some element contains; scalars are equal (``true`` is not ``1``,
``1`` is ``1.0``). Objects are matched through dotted paths, so a key holding ``.`` or
starting with ``$``, and an array of more than one scalar (or of non-scalars) directly inside an
array candidate, cannot be expressed: those are a :class:`~orm.core.errors.NotSupportedError`.

Equality compares sorted-key objects: :func:`orm.mongo.values.canonical_json` stores them so.
"""

from __future__ import annotations

from typing import Any

from orm.core.errors import NotSupportedError
from orm.mongo.match_logic import Document, any_of, none_of
from orm.mongo.values import canonical_json

NOT_ARRAY: Document = {"$not": {"$type": "array"}}
OBJECT: Document = {"$type": "object", **NOT_ARRAY}


def is_null(field: str) -> Document:
    """NULL: missing or null (an array holding null is not null)."""
    return {field: {"$eq": None, **NOT_ARRAY}}


def is_not_null(field: str) -> Document:
    return none_of(is_null(field))


def equals(field: str, value: Any) -> Document:
    """The stored JSON equals ``value`` (not None)."""
    wanted = canonical_json(value)
    if isinstance(value, list):
        # {f: {$eq: [..]}} also matches an array holding that array as an element; no array
        # both is and holds ``wanted``.
        return {field: {"$eq": wanted, "$not": {"$elemMatch": {"$eq": wanted}}}}
    return {field: {"$eq": wanted, **NOT_ARRAY}}


def contains(field: str, wanted: Any, *, where: str) -> Document:
    """The stored JSON contains ``wanted`` (``$contains``); ``where`` names the filter."""
    if isinstance(wanted, dict):
        return any_of(
            [
                _contained_at(field, wanted, where),
                {field: {"$elemMatch": _element(wanted, where)}},
            ]
        )
    if isinstance(wanted, list):
        return {field: _array(wanted, where)}
    return {field: {"$elemMatch": _element(wanted, where)}}


def _contained_at(path: str, wanted: Any, where: str) -> Document:
    """Conditions, by dotted path, that the value at ``path`` contains ``wanted``."""
    if isinstance(wanted, dict):
        conditions: Document = {path: dict(OBJECT)}
        for key, value in wanted.items():
            _check_key(key, where)
            conditions.update(_contained_at(f"{path}.{key}", value, where))
        return conditions
    if isinstance(wanted, list):
        return {path: _array(wanted, where)}
    if wanted is None:
        return {path: {"$type": "null", **NOT_ARRAY}}
    return {path: {"$eq": wanted, **NOT_ARRAY}}


def _array(items: list[Any], where: str) -> Document:
    """The operators of a field holding an array in which some element contains each item."""
    operators: Document = {"$type": "array"}
    if items:
        operators["$all"] = [{"$elemMatch": _element(item, where)} for item in items]
    return operators


def _element(item: Any, where: str) -> Document:
    """The ``$elemMatch`` body of an array element that contains ``item``."""
    if isinstance(item, list) and len(item) == 1 and _is_scalar(item[0]):
        # An element that is itself an array holding this scalar.
        return {"$elemMatch": {"$eq": item[0]}}
    if isinstance(item, list):
        raise NotSupportedError(
            f"{where}: the candidate {item!r} is an array directly inside an array, which "
            f"MongoDB cannot match as SQL does; $contains on MongoDB supports, inside an array, "
            f"arrays of one scalar ([[1]]) and arrays inside objects ([{{'items': [1, 2]}}]), "
            f"not [[1, 2]]"
        )
    if isinstance(item, dict):
        if not item:
            return {"$type": "object"}
        conditions: Document = {}
        for key, value in item.items():
            _check_key(key, where)
            if key.isascii() and key.isdigit():
                # Inside $elemMatch, a numeric name would also index an element that is an
                # array, which SQL never does.
                raise NotSupportedError(
                    f"{where}: the key {key!r} of an object inside an array candidate is a "
                    f"number, which MongoDB also reads as an array position; $contains on "
                    f"MongoDB does not support it there, match that object outside an array"
                )
            conditions.update(_contained_at(key, value, where))
        return conditions
    return {"$eq": item}


def _is_scalar(value: Any) -> bool:
    return value is not None and not isinstance(value, dict | list)


def _check_key(key: str, where: str) -> None:
    if not key or key.startswith("$") or "." in key:
        raise NotSupportedError(
            f"{where}: the key {key!r} cannot be matched on MongoDB (a field name there is not "
            f"empty, holds no '.' and does not start with '$'); $contains on MongoDB does not "
            f"support it, filter on another key"
        )
