"""Combining MongoDB filter documents: and, or, nor, kept as small as they can be.

``{}`` matches every document and :data:`NEVER` none; the combinators fold both away, so a
compiled filter carries no ``{"$and": []}`` and no one-item ``$and``/``$or``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orm.mongo.naming import ID_FIELD

Document = dict[str, Any]

# Matches no document: every document has an _id, none has one in the empty list.
NEVER: Document = {ID_FIELD: {"$in": []}}


def is_never(document: Document) -> bool:
    return document == NEVER


def all_of(documents: Iterable[Document]) -> Document:
    """Documents matching every one of ``documents``; one document when their fields differ."""
    items = [d for d in documents if d]
    if any(is_never(d) for d in items):
        return dict(NEVER)
    if not items:
        return {}
    if len(items) == 1:
        return items[0]
    merged: Document = {}
    for item in items:
        if merged.keys() & item.keys():
            return {"$and": items}
        merged.update(item)
    return merged


def any_of(documents: Iterable[Document]) -> Document:
    """Documents matching at least one of ``documents``."""
    items = [d for d in documents if not is_never(d)]
    if any(not d for d in items):
        return {}
    if not items:
        return dict(NEVER)
    if len(items) == 1:
        return items[0]
    return {"$or": items}


def none_of(document: Document) -> Document:
    """Documents that ``document`` does not match."""
    if not document:
        return dict(NEVER)
    if is_never(document):
        return {}
    if list(document) == ["$or"]:
        return {"$nor": document["$or"]}
    return {"$nor": [document]}
