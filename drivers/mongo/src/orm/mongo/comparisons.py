"""One comparison of the filter tree as a pair of MongoDB filter documents.

SQL evaluates a comparison to TRUE, FALSE or UNKNOWN (NULL), and ``NOT`` keeps UNKNOWN rows
out, so each comparison compiles to the documents where it is TRUE and where it is FALSE (see
:mod:`orm.mongo.filters`). MongoDB's own ``$ne``/``$nin`` match null and missing fields and
its ordering operators match neither, which the table below relies on; NULL is ``null`` or
a missing field.

A value never becomes an operator: it sits under an explicit operator, or is the literal
operand of an equality on a property that cannot hold a document.
"""

from __future__ import annotations

from typing import Any

from bson import Regex

from orm.core.errors import NotSupportedError, ValidationError
from orm.core.metadata.model import PropertyMetadata, ScalarKind
from orm.core.query.ast import Comparison, Op
from orm.core.query.filter import is_expression
from orm.core.query.patterns import check_like_pattern, check_regex_pattern, like_as_regex
from orm.mongo import json_match
from orm.mongo.keys import stores_object_id
from orm.mongo.match_logic import NEVER, Document, any_of, none_of
from orm.mongo.naming import field_name
from orm.mongo.values import to_mongo

# (where TRUE, where FALSE)
Pair = tuple[Document, Document]

_ORDERING = {Op.GT: "$gt", Op.GTE: "$gte", Op.LT: "$lt", Op.LTE: "$lte"}
_OPPOSITE = {Op.GT: "$lte", Op.GTE: "$lt", Op.LT: "$gte", Op.LTE: "$gt"}
_PATTERNS = (Op.LIKE, Op.ILIKE, Op.RE)


def comparison_pair(node: Comparison) -> Pair:
    """The documents where ``node`` is TRUE and where it is FALSE."""
    prop, op, value = node.prop, node.op, node.value
    where = f"{prop.entity.class_name}.{prop.name} {op.value}"
    if is_expression(value):
        raise NotSupportedError(
            f"{where}: query-builder expressions (subqueries, column references) are SQL; "
            f"on MongoDB compare with values"
        )
    field = field_name(prop)
    if prop.kind is ScalarKind.JSON:
        return _json_pair(field, op, value, where)
    if op is Op.EXISTS:
        present, absent = {field: {"$ne": None}}, {field: None}
        return (present, absent) if value else (absent, present)
    if op in (Op.EQ, Op.NE):
        return _equality_pair(field, op, to_mongo(prop, value))
    if op in (Op.IN, Op.NIN):
        return _list_pair(field, op, [to_mongo(prop, item) for item in value])
    if op in _ORDERING:
        if prop.kind is ScalarKind.BYTES:
            raise NotSupportedError(
                f"{where}: MongoDB orders binary values by their length first, not byte by "
                f"byte as SQL does; compare bytes with $eq, $ne, $in or $nin there"
            )
        if value is None:  # compares with NULL: UNKNOWN everywhere
            return dict(NEVER), dict(NEVER)
        converted = to_mongo(prop, value)
        return {field: {_ORDERING[op]: converted}}, {field: {_OPPOSITE[op]: converted}}
    if op in _PATTERNS:
        pattern = _regex(prop, op, value, where)
        return {field: {"$regex": pattern}}, {field: {"$not": pattern, "$ne": None}}
    raise ValidationError(f"{where}: {op.value} applies to JSON properties only")


def null_row_value(node: Comparison) -> bool | None:
    """What ``node`` evaluates to on a row whose every column is NULL (the missing target of
    a to-one relation, joined by SQL's LEFT JOIN): True, False, or None for UNKNOWN."""
    op, value = node.op, node.value
    if op is Op.EXISTS:
        return not value
    if op is Op.EQ:
        return True if value is None else None
    if op is Op.NE:
        return value is not None
    if op is Op.IN:
        return False if not value else None
    if op is Op.NIN:
        return True
    return None


def like_regex(pattern: str) -> str:
    """A LIKE pattern as an anchored PCRE regular expression; ``\\z`` is the absolute end
    (``$`` would also match before a final newline)."""
    return rf"\A{like_as_regex(pattern)}\z"


def _equality_pair(field: str, op: Op, value: Any) -> Pair:
    if value is None:
        null, not_null = {field: None}, {field: {"$ne": None}}
        return (null, not_null) if op is Op.EQ else (not_null, null)
    equal, different = {field: value}, {field: {"$nin": [value, None]}}
    if op is Op.EQ:
        return equal, different
    # SQL renders $ne as ``f != v OR f IS NULL``: MongoDB's $ne matches NULL too.
    return {field: {"$ne": value}}, equal


def _list_pair(field: str, op: Op, items: list[Any]) -> Pair:
    """``$in``/``$nin`` with SQL's NULL rules: a NULL item never equals anything, so it leaves
    ``f IN (...)`` UNKNOWN where it is not TRUE; an empty ``IN`` is FALSE even for NULL."""
    values = [item for item in items if item is not None]
    has_null = len(values) != len(items)
    found = {field: {"$in": values}} if values else dict(NEVER)
    if op is Op.IN:
        if has_null:
            missing = dict(NEVER)
        elif values:
            missing = {field: {"$nin": [*values, None]}}
        else:
            missing = {}
        return found, missing
    # SQL renders $nin as ``f NOT IN (...) OR f IS NULL``.
    if has_null:
        outside: Document = {field: None}
    else:
        outside = {field: {"$nin": values}} if values else {}
    return outside, found


def _regex(prop: PropertyMetadata, op: Op, pattern: str, where: str) -> Regex[str]:
    if stores_object_id(prop):
        raise NotSupportedError(
            f"{where}: {prop.path} holds ObjectIds on MongoDB, which patterns do not match; "
            f"compare it with $eq or $in"
        )
    if op is Op.RE:
        check_regex_pattern(pattern, where=where)
        return Regex(pattern, "s")
    check_like_pattern(pattern, where=where)
    # s: '.' (from '_' and '%') matches a newline too, as LIKE does.
    return Regex(like_regex(pattern), "is" if op is Op.ILIKE else "s")


def _json_pair(field: str, op: Op, value: Any, where: str) -> Pair:
    null, not_null = json_match.is_null(field), json_match.is_not_null(field)
    if op is Op.EXISTS:
        return (not_null, null) if value else (null, not_null)
    if op in (Op.EQ, Op.NE):
        if value is None:
            return (null, not_null) if op is Op.EQ else (not_null, null)
        equal = json_match.equals(field, value)
        if op is Op.EQ:
            return equal, none_of(any_of([equal, null]))
        return none_of(equal), equal
    if op is Op.CONTAINS:
        contained = json_match.contains(field, value, where=where)
        return contained, none_of(any_of([contained, null]))
    raise ValidationError(f"{where}: JSON properties support $eq, $ne, $contains, $exists")
