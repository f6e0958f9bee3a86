"""Keyset batches: a query read ``batch_size`` rows at a time without an open cursor.

Each batch is ``WHERE <filter> AND <after the previous batch's last row> ORDER BY ... LIMIT n``,
so nothing stays open between batches and a deep batch costs what the first one does (unlike
``OFFSET``). Used by ``em.stream`` where no server-side cursor can be held (see
docs/querying.md#streaming), and by the default ``Connection.stream``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any

from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, ScalarKind
from orm.core.query.ast import And, Comparison, Condition, Op, Or, OrderItem, SelectQuery

Row = dict[str, Any]
Fetch = Callable[[SelectQuery], Awaitable[list[Row]]]

# (property, descending, nulls first): nulls_first is None for a property that is never NULL.
KeysetItem = tuple[PropertyMetadata, bool, bool | None]


def stream_order(meta: EntityMetadata, order_by: Sequence[OrderItem]) -> tuple[OrderItem, ...]:
    """The ordering of a stream: ``order_by``, NULLs placed explicitly, then the primary key.

    NULLs go last (ascending and descending) unless the item says ``nulls first``: a keyset
    batch needs to know where NULLs are, and the databases disagree by default. The primary
    key is appended (unless already ordered by) so that every row has one position.
    """
    items: list[OrderItem] = []
    for item in order_by:
        last = item.path[-1]
        may_be_null = last.nullable or len(item.path) > 1
        if item.nulls_first is None and may_be_null:
            item = dataclasses.replace(item, nulls_first=False)
        items.append(item)
    ordered = {item.path[0].name for item in items if len(item.path) == 1}
    for prop in meta.primary_keys:
        if prop.name not in ordered:
            items.append(OrderItem((prop,)))
    return tuple(items)


def keyset_ordering(query: SelectQuery) -> list[KeysetItem]:
    """The ordering of ``query`` as keyset items; a ValidationError if keysets cannot follow it."""
    meta = query.entity
    what = (
        f"reading {meta.class_name} in keyset batches (what em.stream does where it cannot "
        f"hold a server-side cursor, see docs/querying.md#streaming)"
    )
    for prop in meta.primary_keys:
        if prop.relation is not None:
            raise ValidationError(
                f"{what} needs a primary key of scalar properties; {prop.path} is a relation. "
                f"Stream where a server-side cursor can be held"
            )
    items: list[KeysetItem] = []
    for item in query.order_by:
        prop = item.path[-1]
        if len(item.path) > 1 or prop.relation is not None or prop.kind is ScalarKind.JSON:
            name = ".".join(p.name for p in item.path)
            if len(item.path) > 1:
                kind = "a relation path"
            else:
                kind = "a relation" if prop.relation is not None else "a JSON property"
            raise ValidationError(
                f"{what} needs order_by on scalar properties of {meta.class_name}; {name!r} is "
                f"{kind}. Order by scalar properties, or stream where a server-side cursor can "
                f"be held"
            )
        # stream_order made the position of NULLs explicit for every nullable property.
        items.append((prop, item.descending, item.nulls_first if prop.nullable else None))
    ordered = {prop.name for prop, _, _ in items}
    assert all(p.name in ordered for p in meta.primary_keys), "stream_order appends the key"
    if query.fields:
        missing = [prop.name for prop, _, _ in items if prop not in query.fields]
        if missing:
            raise ValidationError(f"{what}: the selected fields must include {missing}")
    return items


def after(ordering: Sequence[KeysetItem], values: Sequence[Any]) -> Condition:
    """Rows strictly after the position ``values`` (one value per ordering item)."""
    alternatives: list[Condition] = []
    for index, (prop, descending, nulls_first) in enumerate(ordering):
        step = _beyond(prop, descending, nulls_first, values[index])
        if step is None:
            continue
        equal = [
            Comparison(p, Op.EQ, v) for (p, _, _), v in zip(ordering[:index], values, strict=False)
        ]
        alternatives.append(And((*equal, step)) if equal else step)
    # The primary key (last, never NULL) always gives an alternative.
    return alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives))


def _beyond(
    prop: PropertyMetadata, descending: bool, nulls_first: bool | None, value: Any
) -> Condition | None:
    """Values of ``prop`` after ``value`` in the ordering; None when nothing comes after."""
    if value is None:
        # NULLs first: every value follows; NULLs last: nothing does.
        return Comparison(prop, Op.NE, None) if nulls_first else None
    beyond = Comparison(prop, Op.LT if descending else Op.GT, value)
    if nulls_first is False:
        return Or((beyond, Comparison(prop, Op.EQ, None)))
    return beyond


async def keyset_batches(
    fetch: Fetch, query: SelectQuery, batch_size: int
) -> AsyncGenerator[list[Row], None]:
    """``query``'s rows in batches: one ``fetch`` (a LIMIT query) per batch.

    The ordering is ``query.order_by`` as :func:`stream_order` completes it. Yields until a
    batch shorter than ``batch_size`` (possibly empty). Rows inserted or changed while the
    batches are read appear if their position is still ahead; a row whose ordered values
    change between batches may be skipped or read twice.
    """
    query = dataclasses.replace(query, order_by=stream_order(query.entity, query.order_by))
    ordering = keyset_ordering(query)
    base = dataclasses.replace(query, limit=batch_size, offset=None)
    where = query.where
    while True:
        rows = await fetch(dataclasses.replace(base, where=where))
        yield rows
        if len(rows) < batch_size:
            return
        last = rows[-1]
        position = after(ordering, [last[prop.name] for prop, _, _ in ordering])
        where = position if query.where is None else And((query.where, position))
