"""Keys the ORM generates for MongoDB: ObjectIds, held as their hex string in Python."""

from __future__ import annotations

from bson import ObjectId

from orm.core.metadata.model import PropertyMetadata, RelationKind


def new_object_id() -> str:
    """The driver's KeyPolicy generator for string keys: a fresh ObjectId as 24 hex digits."""
    return str(ObjectId())


def stores_object_id(prop: PropertyMetadata) -> bool:
    """Whether ``prop``'s values are ObjectIds in the database (and str in Python): a primary
    key the ORM generates with :func:`new_object_id`, or a to-one / ManyToMany relation whose
    target has such a key."""
    if prop.relation is None:
        return prop.primary and prop.key_factory is new_object_id
    if not (prop.is_to_one or prop.relation is RelationKind.MANY_TO_MANY):
        return False
    target = prop.target
    if target is None or len(target.primary_keys) != 1:
        return False
    return stores_object_id(target.primary_keys[0])
