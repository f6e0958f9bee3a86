"""Queries of the core (:mod:`orm.core.query.ast`) as MongoDB ``find`` or aggregation commands.

A query whose filter and ordering stay within the entity's own collection becomes one
``find``; one that needs another collection (a condition or an ordering across a relation, the
items of a many-to-many collection) becomes one ``aggregate`` with ``$lookup`` stages. Either
way it is one command. Temporary fields the pipeline adds are named ``__orm_*``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orm.core.errors import NotSupportedError, ValidationError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind
from orm.core.query.ast import CountQuery, OrderItem, PivotJoin, SelectQuery
from orm.mongo.filters import compile_filter
from orm.mongo.naming import ID_FIELD, collection_name, field_name, owning_side
from orm.mongo.values import key_from_mongo, key_to_mongo

OWNER_FIELD = "__orm_owner"


@dataclass
class ReadPlan:
    """One command: ``find(match, projection).sort().skip().limit()`` or ``aggregate(pipeline)``."""

    collection: str
    match: dict[str, Any]
    projection: dict[str, Any] | None
    sort: list[tuple[str, int]]
    skip: int | None
    limit: int | None
    pipeline: list[dict[str, Any]] | None = None  # set: run as an aggregation
    owner_meta: EntityMetadata | None = None  # pivot reads: whose keys ``__orm_owner`` holds
    # The collection whose documents the plan reads (logged as the command's target); a read
    # of many-to-many targets runs on the owners' collection.
    reads: str | None = None

    def aggregation(self) -> list[dict[str, Any]]:
        """The plan as a pipeline, whatever it was built as (counts and cursors use it)."""
        if self.pipeline is not None:
            return self.pipeline
        stages: list[dict[str, Any]] = [{"$match": self.match}] if self.match else []
        if self.sort:
            stages.append({"$sort": dict(self.sort)})
        if self.skip:
            stages.append({"$skip": self.skip})
        if self.limit is not None:
            stages.append({"$limit": self.limit})
        if self.projection:
            stages.append({"$project": self.projection})
        return stages


@dataclass
class _Stages:
    """Stages of a pipeline being built, with the temporary fields to drop at the end."""

    before_match: list[dict[str, Any]] = field(default_factory=list)
    after_match: list[dict[str, Any]] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)


def _projection(query: SelectQuery) -> dict[str, Any] | None:
    if not query.fields:
        return None
    wanted = {field_name(prop): 1 for prop in query.fields if prop.is_persistent}
    wanted[ID_FIELD] = 1
    return wanted


def _order(meta: EntityMetadata, items: tuple[OrderItem, ...], stages: _Stages) -> list[Any]:
    """The ``$sort`` of ``items``; relation hops and explicit NULL placement add stages."""
    sort: list[tuple[str, int]] = []
    for index, item in enumerate(items):
        path = _order_path(meta, item.path, stages, index)
        direction = -1 if item.descending else 1
        if item.nulls_first is not None:
            # MongoDB sorts null lowest; a flag field places NULLs where the query asked.
            flag = f"__orm_null{index}"
            null = {"$eq": [{"$ifNull": [f"${path}", None]}, None]}
            stages.after_match.append({"$addFields": {flag: {"$cond": [null, 1, 0]}}})
            stages.temporary.append(flag)
            sort.append((flag, -1 if item.nulls_first else 1))
        sort.append((path, direction))
    return sort


def _order_path(
    meta: EntityMetadata, path: tuple[PropertyMetadata, ...], stages: _Stages, index: int
) -> str:
    *hops, last = path
    prefix = ""
    current = meta
    for depth, hop in enumerate(hops):
        if not hop.is_owning_to_one or hop.target is None:
            kind = hop.relation.value if hop.relation is not None else "scalar"
            raise NotSupportedError(
                f"{current.class_name}: ordering by {hop.name}.… follows the inverse side of a "
                f"{kind} relation; on MongoDB an ordering may cross ManyToOne and owning "
                f"OneToOne relations only: order by the owning side's fields instead"
            )
        alias = f"__orm_o{index}_{depth}"
        stages.after_match.append(
            {
                "$lookup": {
                    "from": collection_name(hop.target),
                    "localField": prefix + field_name(hop),
                    "foreignField": ID_FIELD,
                    "as": alias,
                }
            }
        )
        unwind = {"path": f"${alias}", "preserveNullAndEmptyArrays": True}
        stages.after_match.append({"$unwind": unwind})
        stages.temporary.append(alias)
        prefix = alias + "."
        current = hop.target
    return prefix + field_name(last)


def plan_find(query: SelectQuery) -> ReadPlan:
    meta = query.entity
    compiled = compile_filter(meta, query.where)
    stages = _Stages()
    stages.before_match.extend(compiled.lookups)
    stages.temporary.extend(compiled.temporary_fields)
    sort = _order(meta, query.order_by, stages)
    projection = _projection(query)
    name = collection_name(meta)
    if query.pivot is None and not stages.before_match and not stages.after_match:
        return ReadPlan(name, compiled.match, projection, sort, query.offset, query.limit)
    if query.pivot is not None:
        return _pivot_plan(query, query.pivot, compiled.match, stages, sort, projection)
    pipeline = [*stages.before_match]
    if compiled.match:
        pipeline.append({"$match": compiled.match})
    pipeline.extend(stages.after_match)
    _page(pipeline, sort, query.offset, query.limit)
    _finish(pipeline, stages.temporary, projection)
    return ReadPlan(name, compiled.match, projection, sort, query.offset, query.limit, pipeline)


def _page(
    pipeline: list[dict[str, Any]], sort: list[tuple[str, int]], skip: int | None, limit: int | None
) -> None:
    if sort:
        pipeline.append({"$sort": dict(sort)})
    if skip:
        pipeline.append({"$skip": skip})
    if limit is not None:
        pipeline.append({"$limit": limit})


def _finish(
    pipeline: list[dict[str, Any]], temporary: list[str], projection: dict[str, Any] | None
) -> None:
    if projection:
        pipeline.append({"$project": {**projection, OWNER_FIELD: 1}})
    elif temporary:
        pipeline.append({"$project": dict.fromkeys(temporary, 0)})


def _pivot_plan(
    query: SelectQuery,
    pivot: PivotJoin,
    match: dict[str, Any],
    stages: _Stages,
    sort: list[tuple[str, int]],
    projection: dict[str, Any] | None,
) -> ReadPlan:
    """Targets of a ManyToMany linked to ``pivot.owner_keys``, one document per link, each
    with ``__orm_owner`` set to the owner's ``_id``."""
    prop = pivot.prop
    owner_meta = prop.entity
    owning = owning_side(prop)
    array = field_name(owning)
    owner_ids = [key_to_mongo(owner_meta, key) for key in pivot.owner_keys]
    target = query.entity
    if prop.owner:
        # The ids live in an array on the owners: start there, one document per link.
        inner: list[dict[str, Any]] = [*stages.before_match]
        if match:
            inner.append({"$match": match})
        inner.extend(stages.after_match)
        pipeline: list[dict[str, Any]] = [
            {"$match": {ID_FIELD: {"$in": owner_ids}}},
            {"$project": {array: 1}},
            {"$unwind": f"${array}"},
            {
                "$lookup": {
                    "from": collection_name(target),
                    "localField": array,
                    "foreignField": ID_FIELD,
                    "as": "__orm_target",
                    "pipeline": inner,
                }
            },
            {"$unwind": "$__orm_target"},
            {
                "$replaceRoot": {
                    "newRoot": {"$mergeObjects": ["$__orm_target", {OWNER_FIELD: "$_id"}]}
                }
            },
        ]
        source = collection_name(owner_meta)
    else:
        # The targets hold the array of owner ids: match them, one document per wanted owner.
        own = {array: {"$in": owner_ids}}
        pipeline = [*stages.before_match, {"$match": {"$and": [own, match]} if match else own}]
        pipeline.extend(stages.after_match)
        pipeline.append({"$addFields": {OWNER_FIELD: f"${array}"}})
        pipeline.append({"$unwind": f"${OWNER_FIELD}"})
        pipeline.append({"$match": {OWNER_FIELD: {"$in": owner_ids}}})
        source = collection_name(target)
    _page(pipeline, sort, query.offset, query.limit)
    _finish(pipeline, stages.temporary, projection)
    return ReadPlan(
        source,
        match,
        projection,
        sort,
        query.offset,
        query.limit,
        pipeline,
        owner_meta,
        reads=collection_name(target),
    )


def owner_key(plan: ReadPlan, document: dict[str, Any]) -> tuple[Any, ...]:
    assert plan.owner_meta is not None
    return key_from_mongo(plan.owner_meta, document[OWNER_FIELD])


# -- counts -----------------------------------------------------------------------------------


def plan_count(query: CountQuery) -> tuple[str, list[dict[str, Any]], EntityMetadata | None]:
    """An aggregation counting ``query``'s documents: one ``{"n": count}`` document, or one
    ``{"_id": group key, "n": count}`` per group; and whose keys the groups are."""
    if query.pivot is not None:
        select = SelectQuery(query.entity, query.where, pivot=query.pivot)
        plan = plan_find(select)
        pipeline = [
            *plan.aggregation(),
            {"$group": {ID_FIELD: f"${OWNER_FIELD}", "n": {"$sum": 1}}},
        ]
        return plan.collection, pipeline, query.pivot.prop.entity
    plan = plan_find(SelectQuery(query.entity, query.where))
    pipeline = plan.aggregation()
    if query.group_by is None:
        return plan.collection, [*pipeline, {"$count": "n"}], None
    group = query.group_by
    if group.relation not in (RelationKind.MANY_TO_ONE, RelationKind.ONE_TO_ONE):
        raise ValidationError(f"{group.path}: counts group by a to-one relation only")
    assert group.target is not None
    pipeline = [*pipeline, {"$group": {ID_FIELD: f"${field_name(group)}", "n": {"$sum": 1}}}]
    return plan.collection, pipeline, group.target
