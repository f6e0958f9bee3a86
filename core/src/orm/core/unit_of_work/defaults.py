"""The flush's one place that computes dynamic defaults (``@default``, docs/defaults.md).

Run on the new entities of every plan the flush computes, before the ``before_create`` hooks
and the value checks, so both see the values; the INSERT that follows writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orm.core.state import meta_of


async def compute_defaults(entities: Iterable[Any]) -> bool:
    """Give each new entity's unset or None properties their ``@default`` values, in
    dependency order. True when a default set a to-one relation: the entity it points to may
    be new, so the flush looks for new entities again."""
    set_relation = False
    for entity in entities:
        meta = meta_of(entity)
        defaults = meta.dynamic_defaults
        if not defaults:
            continue
        values = entity.__dict__
        for item in defaults:
            if values.get(item.name) is not None:
                continue
            value = item.method(entity)
            if item.is_async:
                value = await value
            # Through the descriptor: a to-one keeps its inverse side in sync.
            setattr(entity, item.name, value)
            if value is not None and meta.properties[item.name].is_to_one:
                set_relation = True
    return set_relation
