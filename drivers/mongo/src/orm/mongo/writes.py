"""The unit of work's batches (:mod:`orm.core.driver`) as MongoDB write operations.

Per collection, in the commit order the core decides: ``insert_many`` of the new documents,
one ``bulk_write`` of ``UpdateOne`` (``$set`` of the changed fields, ``$unset`` of those set to
None) for the changed ones, ``delete_many`` with ``$in`` for the removed ones. A many-to-many
link is an id in an array on the owning document: links are added with ``$addToSet`` and
removed with ``$pull``, one ``bulk_write`` per batch.
"""

from __future__ import annotations

from typing import Any

from pymongo import UpdateMany, UpdateOne

from orm.core.driver import DeleteBatch, Key, PivotBatch, UpdateBatch, UpsertBatch
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind
from orm.core.query.ast import And, Comparison, Condition, Op, Or
from orm.mongo.naming import ID_FIELD, collection_name, field_name, owning_side
from orm.mongo.values import key_to_mongo, row_to_document, to_mongo


def update_operations(batch: UpdateBatch) -> list[UpdateOne]:
    meta = batch.entity
    operations = []
    versions = batch.versions
    for index, (key, row) in enumerate(batch.rows):
        document = row_to_document(meta, batch.properties, row)
        changes: dict[str, Any] = {}
        kept = {name: value for name, value in document.items() if value is not None}
        cleared = {name: "" for name, value in document.items() if value is None}
        if kept:
            changes["$set"] = kept
        if cleared:
            changes["$unset"] = cleared
        match = {ID_FIELD: key_to_mongo(meta, key)}
        if versions is not None:
            # Optimistic locking: a document with another version is not matched.
            match.update(version_match(meta, versions[index]))
        operations.append(UpdateOne(match, changes))
    return operations


def version_match(meta: EntityMetadata, version: Any) -> dict[str, Any]:
    prop = meta.version_property
    assert prop is not None
    return {field_name(prop): to_mongo(prop, version)}


def delete_filter(batch: DeleteBatch) -> dict[str, Any]:
    meta = batch.entity
    match: dict[str, Any] = {ID_FIELD: {"$in": [key_to_mongo(meta, key) for key in batch.keys]}}
    if batch.versions is not None:
        # Each document only at the version it was loaded with (optimistic locking).
        match["$or"] = [
            {ID_FIELD: key_to_mongo(meta, key), **version_match(meta, version)}
            for key, version in zip(batch.keys, batch.versions, strict=True)
        ]
    return match


def link_operations(batch: PivotBatch) -> list[UpdateOne]:
    """One update per owning document: ``$addToSet`` (or ``$pull``) of its linked ids."""
    prop = batch.prop
    owning = owning_side(prop)
    assert owning.target is not None
    array = field_name(owning)
    by_owner: dict[Any, list[Any]] = {}
    for owner_key, target_key in batch.pairs:
        if owning is not prop:  # the pair was given from the inverse side
            owner_key, target_key = target_key, owner_key
        owner_id = key_to_mongo(owning.entity, owner_key)
        by_owner.setdefault(owner_id, []).append(key_to_mongo(owning.target, target_key))
    if batch.delete:
        return [
            UpdateOne({ID_FIELD: owner}, {"$pull": {array: {"$in": ids}}})
            for owner, ids in by_owner.items()
        ]
    return [
        UpdateOne({ID_FIELD: owner}, {"$addToSet": {array: {"$each": ids}}})
        for owner, ids in by_owner.items()
    ]


def dangling_link_cleanups(
    entities: list[EntityMetadata], removed: EntityMetadata, ids: list[Any]
) -> list[tuple[str, UpdateMany]]:
    """Removing documents removes their ids from every many-to-many array that links them, as
    a pivot table's foreign keys would: ``(collection, update_many)`` per owning relation."""
    cleanups = []
    for meta in entities:
        for prop in meta.properties.values():
            if prop.relation is RelationKind.MANY_TO_MANY and prop.owner and prop.target is removed:
                array = field_name(prop)
                cleanups.append(
                    (
                        collection_name(meta),
                        UpdateMany({array: {"$in": ids}}, {"$pull": {array: {"$in": ids}}}),
                    )
                )
    return cleanups


def upsert_operations(batch: UpsertBatch, new_ids: list[Any] | None) -> list[UpdateOne]:
    """``UpdateOne(conflict fields, $set updated / $setOnInsert the rest, upsert=True)``;
    ``new_ids`` are the ``_id`` of each row should it be inserted (None: in the rows)."""
    meta = batch.entity
    conflict = {prop.name for prop in batch.conflict}
    update = {prop.name for prop in batch.update}
    operations = []
    for index, row in enumerate(batch.rows):
        document = row_to_document(meta, batch.properties, row)
        names = {field_name(prop): prop.name for prop in batch.properties}
        match = {field_name(prop): to_mongo(prop, row[prop.name]) for prop in batch.conflict}
        on_update = {f: v for f, v in document.items() if names[f] in update}
        on_insert = {
            f: v for f, v in document.items() if names[f] not in update and names[f] not in conflict
        }
        changes: dict[str, Any] = {}
        if on_update:
            changes["$set"] = on_update
        if on_insert:
            changes["$setOnInsert"] = on_insert
        if new_ids is not None:
            changes.setdefault("$setOnInsert", {})[ID_FIELD] = new_ids[index]
        if not changes:
            changes["$setOnInsert"] = match
        operations.append(UpdateOne(match, changes, upsert=True))
    return operations


def conflict_values(batch: UpsertBatch, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        tuple(row[prop.name]) if prop.relation is not None else row[prop.name]
        for prop in batch.conflict
    )


def conflict_condition(batch: UpsertBatch) -> Condition:
    """The documents of ``batch`` by their conflict fields: for reading their keys back."""
    return Or(
        tuple(
            And(tuple(Comparison(prop, Op.EQ, row[prop.name]) for prop in batch.conflict))
            for row in batch.rows
        )
    )


def references_to(
    entities: list[EntityMetadata], removed: EntityMetadata
) -> list[tuple[PropertyMetadata, str]]:
    """The to-one relations pointing at ``removed`` that declare an ``on_delete`` action,
    with the action spelled as SQL does (``cascade``, ``set null``, ``restrict``...)."""
    found = []
    for meta in entities:
        for prop in meta.persistent:
            if prop.is_owning_to_one and prop.target is removed and prop.on_delete:
                found.append((prop, prop.on_delete.lower().replace("_", " ")))
    return found


def clear_references(prop: PropertyMetadata, keys: list[Key]) -> UpdateMany:
    """``set null``: remove the reference from every document holding one of ``keys``."""
    assert prop.target is not None
    field = field_name(prop)
    ids = [key_to_mongo(prop.target, key) for key in keys]
    return UpdateMany({field: {"$in": ids}}, {"$unset": {field: ""}})
