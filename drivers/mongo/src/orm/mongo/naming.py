"""Where orm's metadata lives in MongoDB: an entity's collection and each property's field."""

from __future__ import annotations

from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind

ID_FIELD = "_id"


def collection_name(meta: EntityMetadata) -> str:
    return meta.table


def field_name(prop: PropertyMetadata) -> str:
    """The document field holding ``prop``: ``_id`` for the (single) primary key, the column
    name of a scalar or of an owning to-one's foreign key, the property name of an owning
    ManyToMany (an array of the targets' ``_id`` values)."""
    if prop.primary and len(prop.entity.primary_keys) == 1:
        return ID_FIELD
    if prop.is_persistent:
        return prop.columns[0].name
    if prop.relation is RelationKind.MANY_TO_MANY and prop.owner:
        return prop.name
    raise ValueError(
        f"{prop.path} is the inverse side of a relation: its documents store nothing; use the "
        f"field of the owning property on the other side"
    )


def owning_side(prop: PropertyMetadata) -> PropertyMetadata:
    """The side of a ManyToMany whose documents hold the array of linked ids."""
    owning = prop if prop.owner else prop.inverse
    if owning is None:
        raise ValidationError(f"{prop.path}: a ManyToMany relation needs an owning side")
    return owning
