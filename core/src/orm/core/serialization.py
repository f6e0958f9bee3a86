"""Entities as dicts and JSON: ``to_dict``, ``to_json``, and ``em.serialize`` with shape hints.

The shape of the output depends on the call, never on what happens to be loaded
(docs/serialization.md):

- scalars, renamed by ``serialized_name`` and mapped by ``serializer``; ``hidden`` ones never;
- a to-one relation whose foreign key is in the entity's row: its target's key (a list for a
  composite key), or the target in full when ``populate`` names it;
- collections and the inverse side of a OneToOne: only when ``populate`` names them, because
  their keys are not in the row and reading them would take a query;
- an entity already on the path from the root serializes as its key, which cuts cycles.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import decimal
import enum
import json
import uuid
from typing import TYPE_CHECKING, Any, overload

from orm.core.collection import Collection
from orm.core.errors import EntityStateError, NotLoadedError, ValidationError
from orm.core.keys import entity_key
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, ScalarKind
from orm.core.serialization_plan import (
    SerializationPlan,
    ShapeHint,
    build_plan,
    shape_paths,
    shape_tree,
)
from orm.core.state import STATE_KEY, EntityState, meta_of

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager

__all__ = ["ShapeHint", "json_default", "serialize", "to_dict", "to_json"]

Many = list[Any] | tuple[Any, ...] | Collection[Any]


@overload
def to_dict(  # type: ignore[overload-overlap]  # a list is an object too: lists first
    entity: Many, *, populate: ShapeHint = (), exclude: ShapeHint = ()
) -> list[dict[str, Any]]: ...
@overload
def to_dict(
    entity: object, *, populate: ShapeHint = (), exclude: ShapeHint = ()
) -> dict[str, Any]: ...
def to_dict(
    entity: object, *, populate: ShapeHint = (), exclude: ShapeHint = ()
) -> dict[str, Any] | list[dict[str, Any]]:
    """The entity (or each entity of a list) as a dict of Python values.

    ``populate`` names the relations to serialize in full (``["books.tags"]`` or
    ``{"books": {"tags": True}}``); they must be loaded (``em.serialize`` loads them).
    ``exclude`` leaves properties out, by name or path (``["email", "books.title"]``).
    """
    plans: dict[type[Any], SerializationPlan] = {}

    def one(item: object) -> dict[str, Any]:
        plan = plans.get(type(item))
        if plan is None:
            plan = plans[type(item)] = build_plan(_meta(item), populate, exclude)
        return _entity_dict(item, plan, [])

    if _is_many(entity):
        return [one(item) for item in _items(entity)]
    return one(entity)


def to_json(
    value: object,
    *,
    populate: ShapeHint = (),
    exclude: ShapeHint = (),
    indent: int | None = None,
    sort_keys: bool = False,
) -> str:
    """JSON text of an entity, a list of entities, or what ``to_dict``/``em.serialize`` gave.

    datetimes, dates and times become ISO 8601 text, Decimals and UUIDs text, enums their
    value, bytes base64 text (see :func:`json_default`).
    """
    if _is_entity(value) or (_is_many(value) and all(_is_entity(i) for i in _items(value))):
        data: Any = to_dict(value, populate=populate, exclude=exclude)
    elif populate or exclude:
        raise ValidationError(
            f"to_json(populate=..., exclude=...) applies to entities, and was given a "
            f"{type(value).__name__}; pass the entity, or shape the data before"
        )
    else:
        data = value
    return json.dumps(data, default=json_default, indent=indent, sort_keys=sort_keys)


def json_default(value: Any) -> Any:
    """What ``json.dumps(default=...)`` should write for the values entities hold."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if _is_entity(value):
        return to_dict(value)
    raise ValidationError(
        f"to_json cannot write a {type(value).__name__} value ({value!r}); give the property a "
        f"serializer= that returns str, int, float, bool, None, a list or a dict"
    )


async def serialize(
    em: EntityManager, entities: object, shape: ShapeHint, exclude: ShapeHint
) -> Any:
    """``em.serialize``: load what ``shape`` needs and is missing, one query per relation and
    level for all ``entities`` together, then serialize exactly that shape."""
    paths = shape_paths(shape_tree(shape, option="em.serialize(shape)"))
    many = _is_many(entities)
    items = _items(entities) if many else [entities]
    if items and paths:
        build_plan(_meta(items[0]), paths, exclude)  # a wrong name fails before any query
        for item in items:
            if not em.is_managed(item):
                raise EntityStateError(
                    f"em.serialize cannot load the shape of this {type(item).__name__}: it is "
                    f"not managed by this EntityManager; load it in this fork first, or call "
                    f"to_dict(...) on what is already loaded"
                )
        await em.populate(items, paths)
    return to_dict(items if many else items[0], populate=paths, exclude=exclude)


# -- one entity ---------------------------------------------------------------------------


def _entity_dict(entity: Any, plan: SerializationPlan, path: list[Any]) -> dict[str, Any]:
    meta = plan.meta
    d = entity.__dict__
    state: EntityState = d[STATE_KEY]
    if not state.initialized:
        raise NotLoadedError(
            f"this {meta.class_name} is an unloaded reference that knows only its key, so it "
            f"cannot be serialized in full; load it first (await em.serialize(...) with a shape "
            f"that names it, or await em.populate(...))"
        )
    path.append(entity)
    try:
        out: dict[str, Any] = {}
        for prop in meta.properties.values():
            name = prop.name
            if prop.hidden or name in plan.exclude:
                continue
            if prop.is_persistent and (name not in d or _unread(name, state)):
                continue  # never set, or not selected by fields=/exclude=
            key = prop.serialized_name or name
            below = plan.populate.get(name)
            if below is not None:
                out[key] = _relation(entity, prop, below, path)
            elif prop.is_owning_to_one:
                out[key] = _key_of(d[name])
            elif not prop.is_relation:
                out[key] = _scalar(prop, d[name])
        return out
    finally:
        path.pop()


def _unread(name: str, state: EntityState) -> bool:
    return state.loaded is not None and name not in state.loaded


def _scalar(prop: PropertyMetadata, value: Any) -> Any:
    if prop.serializer is not None and value is not None:
        return prop.serializer(value)
    if prop.kind is ScalarKind.JSON:
        # A copy: changing the output must not change the entity behind the flush's back.
        return copy.deepcopy(value)
    return value


def _relation(owner: Any, prop: PropertyMetadata, plan: SerializationPlan, path: list[Any]) -> Any:
    if prop.is_collection:
        # Through the descriptor: a loaded entity makes its Collection on first access.
        collection: Collection[Any] = getattr(owner, prop.name)
        if not collection.initialized:
            raise _not_loaded(owner, prop)
        return [_target(item, plan, path) for item in collection.known_items]
    d = owner.__dict__
    if prop.name not in d:
        raise _not_loaded(owner, prop)  # the inverse side of a OneToOne, not read yet
    value = d[prop.name]
    if value is None:
        return None
    if not value.__dict__[STATE_KEY].initialized:
        raise _not_loaded(owner, prop)
    return _target(value, plan, path)


def _target(entity: Any, plan: SerializationPlan, path: list[Any]) -> Any:
    if any(entity is seen for seen in path):
        return _key_of(entity)  # a cycle: the entity is being serialized further up
    return _entity_dict(entity, plan, path)


def _not_loaded(owner: Any, prop: PropertyMetadata) -> NotLoadedError:
    variable = prop.entity.class_name.lower()
    return NotLoadedError(
        f"{prop.path} is not loaded, so it cannot be serialized in full; load it first: "
        f"await em.serialize({variable}, [{prop.name!r}]) loads what is missing, or "
        f"await em.populate({variable}, [{prop.name!r}]) before to_dict"
    )


def _key_of(entity: Any) -> Any:
    """The key of a related entity as JSON would show it: the value, a list for a composite
    key, None for an entity that has none yet (new, not flushed)."""
    if entity is None:
        return None
    key = entity_key(entity, meta_of(entity))
    if key is None:
        return None
    return key[0] if len(key) == 1 else list(key)


# -- inputs -------------------------------------------------------------------------------


def _is_entity(value: object) -> bool:
    return STATE_KEY in getattr(value, "__dict__", {})


def _is_many(value: object) -> bool:
    return isinstance(value, list | tuple | Collection)


def _items(value: Any) -> list[Any]:
    return value.get_items() if isinstance(value, Collection) else list(value)


def _meta(entity: object) -> EntityMetadata:
    if not _is_entity(entity):
        raise ValidationError(
            f"to_dict takes an entity or a list of entities, got a {type(entity).__name__}; "
            f"decorate the class with @entity and pass its instances"
        )
    return meta_of(entity)
