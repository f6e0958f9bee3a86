"""``PRUNE``: a filter value that drops its condition, for optional filters of listing endpoints.

``{"name": name or PRUNE, "age": {"$gte": PRUNE if min_age is None else min_age}}`` filters
on what was given and nothing else, with no ``if`` chains: the parser (``query.filter``)
leaves out a property whose value is ``PRUNE``, an operator whose operand is ``PRUNE``, and
then a property, relation, ``$not``, ``$and`` or ``$or`` that pruning left with nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class Prune(enum.Enum):
    """The type of :data:`PRUNE` (an enum, so that type checkers know there is one value)."""

    PRUNE = "PRUNE"

    def __repr__(self) -> str:
        return "PRUNE"


PRUNE = Prune.PRUNE
"""Used as a value in a filter dict, drops that condition (see docs/querying.md)."""


def mentions_prune(value: Any) -> bool:
    """Whether ``value`` (a filter, a list of filters, an operator dict) holds :data:`PRUNE`
    anywhere: an ``$or`` that became empty because of it disappears instead of matching
    nothing."""
    if value is PRUNE:
        return True
    if isinstance(value, Mapping):
        return any(mentions_prune(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(mentions_prune(item) for item in value)
    return False
