"""``em.create`` and ``em.assign``: set entity attributes from plain dicts (e.g. request bodies)
or from pydantic models (e.g. those of ``schema_of``), whose fields that were set are used."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orm.core.collection import Collection
from orm.core.errors import ValidationError
from orm.core.keys import normalize_key
from orm.core.metadata.entity import FIELDS_KEY, apply_defaults, defaults_plan
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.core.query.filter import is_entity
from orm.core.state import meta_of

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager


def new_instance(meta: EntityMetadata) -> Any:
    """A new entity with its defaults applied, without calling the user's ``__init__``."""
    cls = meta.cls
    entity = object.__new__(cls)
    options = cls.__dict__["__orm_options__"]
    apply_defaults(entity, defaults_plan(cls.__dict__[FIELDS_KEY], options["annotations"]))
    return entity


def as_mapping(data: Any, where: str) -> Mapping[str, Any]:
    """``data`` as a dict: a mapping as it is; a pydantic model (anything with ``model_dump``)
    as the fields that were set, so a PATCH payload leaves the others alone."""
    if isinstance(data, Mapping):
        return data
    dump = getattr(data, "model_dump", None)
    if callable(dump):
        dumped = dump(exclude_unset=True)
        if isinstance(dumped, Mapping):
            return dumped
    raise ValidationError(
        f"{where} takes a dict or a pydantic model (e.g. of schema_of()), not a "
        f"{type(data).__name__}; pass dict(...) or the model instance"
    )


def assign(em: EntityManager, entity: Any, data: Mapping[str, Any] | Any) -> None:
    """Assign ``data`` (a dict or a pydantic model) to ``entity``; unknown keys are a
    :class:`ValidationError`.

    Relations accept an entity, a primary key (a reference is used) or a dict (a new entity
    is created, or the current one updated for a to-one relation).
    """
    meta = meta_of(entity)
    data = as_mapping(data, f"assign() of a {meta.class_name}")
    unknown = [key for key in data if key not in meta.properties]
    if unknown:
        known = ", ".join(meta.properties)
        raise ValidationError(
            f"{meta.class_name} has no propert{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(map(repr, unknown))}; known properties: {known}"
        )
    for name, value in data.items():
        prop = meta.properties[name]
        if prop.relation is None:
            setattr(entity, name, value)
        elif prop.is_collection:
            items = [_related_value(em, prop, item, current=None) for item in value or ()]
            collection: Collection[Any] = getattr(entity, name)
            # Replaces the items: the collection must be loaded (NotLoadedError otherwise).
            collection.set(items)
        else:
            current = entity.__dict__.get(name)
            setattr(entity, name, _related_value(em, prop, value, current=current))


def _related_value(em: EntityManager, prop: PropertyMetadata, value: Any, *, current: Any) -> Any:
    target = prop.target
    assert target is not None
    if value is None or is_entity(value):
        return value
    if isinstance(value, Mapping):
        if current is not None and prop.is_to_one:
            assign(em, current, value)
            return current
        return create(em, target, value)
    return em.get_reference(target.cls, normalize_key(target, value, where=prop.path))


def create(em: EntityManager, meta: EntityMetadata, data: Mapping[str, Any] | Any) -> Any:
    entity = new_instance(meta)
    assign(em, entity, as_mapping(data, f"create({meta.class_name})"))
    em.persist(entity)
    return entity
