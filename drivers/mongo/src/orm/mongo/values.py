"""Python values of properties as BSON values, and back.

``None`` is ``None`` both ways. Each kind keeps what the SQL drivers keep, within what BSON can
hold: datetimes to the millisecond (aware values stored in UTC), dates as midnight datetimes,
times as ``"HH:MM:SS.ffffff"`` strings (they sort as times), decimals as ``Decimal128``,
UUIDs as binary subtype 4, enums as their value. ORM-generated string keys are ObjectIds in the
database (see :mod:`orm.mongo.keys`). JSON is stored with its object keys sorted, so that an
equality filter compares objects whatever order their keys were written in.

The unit of work converts thousands of rows at a time, so each entity gets a table of
per-property converters, built on first use and rebuilt when its key policy changes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bson import Binary, Decimal128, ObjectId

from orm.core.errors import NotSupportedError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind, ScalarKind
from orm.mongo.keys import stores_object_id
from orm.mongo.naming import field_name

Convert = Callable[[Any], Any]
Key = tuple[Any, ...]


@dataclass(frozen=True)
class FieldCodec:
    """How one property is stored: its field and its converters (both pass ``None`` on)."""

    field: str
    to_mongo: Convert
    from_mongo: Convert


@dataclass(frozen=True)
class EntityCodec:
    meta: EntityMetadata
    key_policy: Any  # the policy the table was built under (keys may be ObjectIds)
    fields: dict[str, FieldCodec]


_CODECS: dict[int, EntityCodec] = {}


def entity_codec(meta: EntityMetadata) -> EntityCodec:
    """The converter table of ``meta``: its stored properties (scalars, owning to-ones and
    owning ManyToManys) by property name."""
    codec = _CODECS.get(id(meta))
    if codec is None or codec.meta is not meta or codec.key_policy is not meta.key_policy:
        fields = {
            prop.name: _field_codec(prop)
            for prop in meta.properties.values()
            if prop.is_persistent or (prop.relation is RelationKind.MANY_TO_MANY and prop.owner)
        }
        codec = EntityCodec(meta, meta.key_policy, fields)
        _CODECS[id(meta)] = codec
    return codec


def field_codec(prop: PropertyMetadata) -> FieldCodec:
    found = entity_codec(prop.entity).fields.get(prop.name)
    if found is None:
        raise ValueError(f"{prop.path} is not stored in {prop.entity.class_name}'s documents")
    return found


def to_mongo(prop: PropertyMetadata, value: Any) -> Any:
    """``value`` of ``prop`` as stored; a to-one relation takes its target's key tuple."""
    return field_codec(prop).to_mongo(value)


def from_mongo(prop: PropertyMetadata, value: Any) -> Any:
    return field_codec(prop).from_mongo(value)


def key_to_mongo(meta: EntityMetadata, key: Key) -> Any:
    """The ``_id`` of the entity whose primary key is ``key`` (a one-item tuple)."""
    prop = meta.primary_keys[0]
    return field_codec(prop).to_mongo(key if prop.relation is not None else key[0])


def key_from_mongo(meta: EntityMetadata, value: Any) -> Key:
    prop = meta.primary_keys[0]
    converted = field_codec(prop).from_mongo(value)
    return converted if prop.relation is not None else (converted,)


def row_to_document(
    meta: EntityMetadata, properties: Iterable[PropertyMetadata], row: Mapping[str, Any]
) -> dict[str, Any]:
    """``row`` ({property name: value}) as a document, for ``properties``."""
    fields = entity_codec(meta).fields
    document: dict[str, Any] = {}
    for prop in properties:
        codec = fields[prop.name]
        document[codec.field] = codec.to_mongo(row[prop.name])
    return document


def document_to_row(
    meta: EntityMetadata, document: Mapping[str, Any], properties: Iterable[PropertyMetadata]
) -> dict[str, Any]:
    """``properties`` of a stored document by property name; a missing field is None."""
    fields = entity_codec(meta).fields
    row: dict[str, Any] = {}
    for prop in properties:
        codec = fields[prop.name]
        row[prop.name] = codec.from_mongo(document.get(codec.field))
    return row


def canonical_json(value: Any) -> Any:
    """``value`` with the keys of every object in it sorted."""
    if isinstance(value, dict):
        return {key: canonical_json(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical_json(item) for item in value]
    return value


# -- the converters of one property -------------------------------------------------------


def _field_codec(prop: PropertyMetadata) -> FieldCodec:
    field = field_name(prop)
    if prop.relation is None:
        to, back = _scalar_converters(prop)
        return FieldCodec(field, to, back)
    target = prop.target
    assert target is not None
    # Built afresh rather than from the target's table, which may be the one being built
    # (a self-reference).
    target_key = _field_codec(target.primary_keys[0])
    if prop.relation is RelationKind.MANY_TO_MANY:
        return FieldCodec(field, *_array_converters(target_key))
    return FieldCodec(field, *_key_converters(target_key))


def _key_converters(target_key: FieldCodec) -> tuple[Convert, Convert]:
    """A to-one relation: the target's key tuple ``(k,)`` <-> the target's ``_id`` value."""
    to_target, from_target = target_key.to_mongo, target_key.from_mongo

    def to(key: Any) -> Any:
        if key is None or key[0] is None:
            return None
        return to_target(key[0])

    def back(value: Any) -> Any:
        return None if value is None else (from_target(value),)

    return to, back


def _array_converters(target_key: FieldCodec) -> tuple[Convert, Convert]:
    """An owning ManyToMany: key tuples of the targets <-> an array of their ``_id`` values."""
    to_target, from_target = target_key.to_mongo, target_key.from_mongo

    def to(keys: Any) -> Any:
        return None if keys is None else [to_target(key[0]) for key in keys]

    def back(values: Any) -> Any:
        return None if values is None else [(from_target(value),) for value in values]

    return to, back


def _same(value: Any) -> Any:
    return value


def _nullable(convert: Convert) -> Convert:
    def run(value: Any) -> Any:
        return None if value is None else convert(value)

    return run


def _scalar_converters(prop: PropertyMetadata) -> tuple[Convert, Convert]:
    kind = prop.kind
    if kind is ScalarKind.STRING and stores_object_id(prop):
        return _nullable(_object_id), _nullable(str)
    if kind in (ScalarKind.INTEGER, ScalarKind.STRING, ScalarKind.BOOLEAN):
        return _same, _same
    if kind is ScalarKind.FLOAT:
        return _nullable(float), _nullable(float)
    if kind is ScalarKind.DECIMAL:
        # NUMERIC(p) without a scale has scale 0, as the flush's value checks read it.
        scale = prop.scale if prop.scale is not None or prop.precision is None else 0
        return _nullable(_decimal128(prop)), _nullable(_decimal_at_scale(scale))
    if kind is ScalarKind.DATETIME:
        back = _aware_utc if prop.timezone else _naive_utc
        return _nullable(_bson_datetime), _nullable(back)
    if kind is ScalarKind.DATE:
        return _nullable(_midnight), _nullable(_date)
    if kind is ScalarKind.TIME:
        return _nullable(_time_text), _nullable(_time)
    if kind is ScalarKind.UUID:
        return _nullable(Binary.from_uuid), _nullable(_uuid)
    if kind is ScalarKind.BYTES:
        return _nullable(bytes), _nullable(bytes)
    if kind is ScalarKind.ENUM:
        enum_type = prop.enum_type
        assert enum_type is not None
        return _nullable(_enum_value), _nullable(enum_type)
    if kind is ScalarKind.JSON:
        return canonical_json, _same
    raise AssertionError(f"{prop.path}: no BSON conversion for {kind}")


def _object_id(value: str) -> Any:
    # Only the canonical form of an ObjectId becomes one: any other string a key was given by
    # the application stays a string, so it reads back exactly as written.
    if len(value) == 24 and ObjectId.is_valid(value) and value == value.lower():
        return ObjectId(value)
    return value


def _decimal128(prop: PropertyMetadata) -> Convert:
    def convert(value: Any) -> Decimal128:
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
        try:
            return Decimal128(number)
        except decimal.DecimalException:
            raise NotSupportedError(
                f"{prop.path}: {value!r} has more than the 34 significant digits MongoDB's "
                f"Decimal128 holds; round it (e.g. with Decimal.quantize) before storing it"
            ) from None

    return convert


def _decimal_at_scale(scale: int | None) -> Convert:
    """Decimal128 keeps the digits written; a SQL NUMERIC(p, s) gives back ``s`` decimals."""
    if scale is None:
        return _decimal
    exponent = decimal.Decimal(1).scaleb(-scale)
    # Decimal128's 34 digits plus the padding to the scale: beyond the default context's 28.
    context = decimal.Context(prec=34 + max(scale, 0))

    def convert(value: Any) -> decimal.Decimal:
        return _decimal(value).quantize(exponent, context=context)

    return convert


def _decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, Decimal128):
        return value.to_decimal()
    return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))


def _bson_datetime(value: dt.datetime) -> dt.datetime:
    # BSON keeps milliseconds; an aware value is stored as its UTC time.
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _aware_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _midnight(value: dt.date) -> dt.datetime:
    return dt.datetime(value.year, value.month, value.day)


def _date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _time_text(value: dt.time) -> str:
    return value.isoformat(timespec="microseconds")


def _time(value: Any) -> dt.time:
    return dt.time.fromisoformat(value) if isinstance(value, str) else value


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else value.as_uuid()


def _enum_value(member: Any) -> Any:
    return member.value
