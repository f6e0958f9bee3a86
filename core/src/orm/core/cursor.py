"""Cursor (keyset) pagination: ``em.find_by_cursor``.

A cursor names a position in an ordering by the values of the ordered properties of one row
(plus the primary key, which breaks ties). It is opaque to clients, survives a JSON round trip
as a string, and is signed (HMAC-SHA256): a changed cursor, or one made for another ordering,
is a :class:`ValidationError`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.core.query.limits import MAX_INT
from orm.core.query.options import flag

if TYPE_CHECKING:
    from orm.core.reads import ReadScope

T = TypeVar("T")
_SIGNATURE_BYTES = 16


@dataclass
class Cursor(Generic[T]):
    """One page of a cursor pagination (Relay's connection, without the edges)."""

    items: list[T]
    has_next_page: bool
    has_prev_page: bool
    start_cursor: str | None
    end_cursor: str | None
    total_count: int | None = field(default=None)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _ordering(meta: EntityMetadata, order_by: Any) -> list[tuple[PropertyMetadata, bool]]:
    if not isinstance(order_by, Mapping) or not order_by:
        raise ValidationError(
            f"find_by_cursor({meta.class_name}) needs order_by as a non-empty dict of scalar "
            f"properties and 'asc'/'desc', e.g. {{'created_at': 'desc'}}; got {order_by!r}"
        )
    ordering: list[tuple[PropertyMetadata, bool]] = []
    for name, direction in order_by.items():
        if not isinstance(name, str):
            raise ValidationError(
                f"find_by_cursor: order_by keys are property names of {meta.class_name}, got "
                f"{name!r}"
            )
        prop = meta.properties.get(name)
        if prop is None or prop.relation is not None:
            raise ValidationError(
                f"find_by_cursor: order_by takes scalar properties of {meta.class_name}; "
                f"{name!r} is {'unknown' if prop is None else 'a relation'}"
            )
        if prop.nullable:
            raise ValidationError(
                f"find_by_cursor: {prop.path} is nullable; order by non-nullable properties "
                f"(NULLs have no position in a keyset)"
            )
        if not isinstance(direction, str) or direction.lower() not in ("asc", "desc"):
            raise ValidationError(
                f"find_by_cursor: order_by {name!r} must be 'asc' or 'desc', got {direction!r}"
            )
        ordering.append((prop, direction.lower() == "desc"))
    named = {prop.name for prop, _ in ordering}
    for prop in meta.primary_keys:
        if prop.relation is not None:
            raise ValidationError(
                f"find_by_cursor({meta.class_name}): entities with a relation in their primary "
                f"key are not supported"
            )
        if prop.name not in named:
            ordering.append((prop, False))
    return ordering


def _encode_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return ["enum", value.value]
    if isinstance(value, dt.datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    if isinstance(value, dt.time):
        return ["time", value.isoformat()]
    if isinstance(value, decimal.Decimal):
        return ["decimal", str(value)]
    if isinstance(value, uuid.UUID):
        return ["uuid", str(value)]
    if isinstance(value, bytes):
        return ["bytes", base64.b64encode(value).decode()]
    return ["plain", value]


def _decode_value(prop: PropertyMetadata, tagged: Any) -> Any:
    tag, raw = tagged
    if tag == "enum" and prop.enum_type is not None:
        return prop.enum_type(raw)
    decoders: dict[str, Any] = {
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "time": dt.time.fromisoformat,
        "decimal": decimal.Decimal,
        "uuid": uuid.UUID,
        "bytes": base64.b64decode,
    }
    return decoders[tag](raw) if tag in decoders else raw


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _signature(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def encode(self, entity: Any, ordering: Sequence[tuple[PropertyMetadata, bool]]) -> str:
        body = {
            "o": [[p.path, desc] for p, desc in ordering],
            "v": [_encode_value(entity.__dict__[p.name]) for p, _ in ordering],
        }
        payload = json.dumps(body, separators=(",", ":")).encode()
        token = payload + self._signature(payload)
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(self, cursor: str, ordering: Sequence[tuple[PropertyMetadata, bool]]) -> list[Any]:
        problem = ValidationError(
            "invalid cursor: it was changed, truncated, or made by another server or for "
            "another order_by; use start_cursor/end_cursor exactly as returned"
        )
        if not isinstance(cursor, str):
            raise problem
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise problem from None
        payload, signature = token[:-_SIGNATURE_BYTES], token[-_SIGNATURE_BYTES:]
        if not payload or not hmac.compare_digest(signature, self._signature(payload)):
            raise problem
        body = json.loads(payload)
        if body.get("o") != [[p.path, desc] for p, desc in ordering]:
            raise problem
        return [
            _decode_value(p, tagged) for (p, _), tagged in zip(ordering, body["v"], strict=True)
        ]


def _after(
    ordering: Sequence[tuple[PropertyMetadata, bool]], values: Sequence[Any], *, forward: bool
) -> dict[str, Any]:
    """The filter for rows strictly after (``forward``) or before the cursor position."""
    alternatives = []
    for index, (prop, descending) in enumerate(ordering):
        condition: dict[str, Any] = {
            p.name: v for (p, _), v in zip(ordering[:index], values, strict=False)
        }
        greater = forward != descending
        condition[prop.name] = {"$gt" if greater else "$lt": values[index]}
        alternatives.append(condition)
    return {"$or": alternatives}


async def find_by_cursor(
    em: ReadScope,
    meta: EntityMetadata,
    where: Any,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    order_by: Mapping[str, str],
    populate: Sequence[str],
    include_count: bool,
) -> Cursor[Any]:
    ordering = _ordering(meta, order_by)
    flag("include_count", include_count)
    if (first is None) == (last is None):
        raise ValidationError("find_by_cursor takes exactly one of first= or last=")
    name = "first" if first is not None else "last"
    size = first if first is not None else last
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_INT:
        raise ValidationError(
            f"find_by_cursor: {name} must be an int from 0 to {MAX_INT} (2**63 - 1), got {size!r}"
        )
    if (first is not None and before is not None) or (last is not None and after is not None):
        raise ValidationError("use first= with after=, and last= with before=")
    forward = first is not None
    codec = em.orm.cursor_codec
    position = after if forward else before
    filters: list[Any] = []
    if where is not None:
        if not isinstance(where, Mapping):
            raise ValidationError("find_by_cursor takes a filter dict (or None) as where")
        filters.append(where)
    if position is not None:
        filters.append(_after(ordering, codec.decode(position, ordering), forward=forward))
    combined = {"$and": filters} if filters else None
    # Backwards pages read the ordering reversed, then put their items back in order.
    direction = {
        prop.name: "desc" if descending == forward else "asc" for prop, descending in ordering
    }
    # One row more than the page tells whether another page follows (no table holds 2**63).
    limit = min(size + 1, MAX_INT)
    found = await em.find(meta.cls, combined, order_by=direction, limit=limit, populate=populate)
    more = len(found) > size
    items = found[:size]
    if not forward:
        items.reverse()
    total = await em.count(meta.cls, where) if include_count else None
    return Cursor(
        items=items,
        has_next_page=more if forward else before is not None,
        has_prev_page=after is not None if forward else more,
        start_cursor=codec.encode(items[0], ordering) if items else None,
        end_cursor=codec.encode(items[-1], ordering) if items else None,
        total_count=total,
    )
