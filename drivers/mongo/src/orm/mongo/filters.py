"""The filter tree (:mod:`orm.core.query.ast`) as a MongoDB filter document.

The result selects the same documents as the SQL renderer's WHERE clause selects rows. SQL
has three truth values, and a row is selected only where the condition is TRUE: ``NOT`` of
UNKNOWN stays UNKNOWN. So every node compiles for a wanted outcome, TRUE or FALSE: ``Not``
wants the opposite of its item; ``And`` is TRUE where all items are TRUE and FALSE where any
is FALSE; ``Or`` the other way round. Comparisons are in :mod:`orm.mongo.comparisons`.

A condition on a relation's target is a ``$lookup`` into a temporary field ``__orm_r<N>``
whose pipeline keeps the targets that satisfy it (at most one is needed):

- to-many relations are SQL's ``EXISTS``, TRUE or FALSE: the field is or is not empty;
- to-one relations are SQL's LEFT JOIN: the condition takes its value on the target, or on
  a row of NULLs when there is none (``{"author": {"name": None}}`` holds for a book without
  an author, ``{"author": {"name": "x"}}`` is then UNKNOWN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind
from orm.core.query.ast import And, Comparison, Condition, Not, RelationCondition
from orm.mongo.comparisons import comparison_pair, null_row_value
from orm.mongo.match_logic import Document, all_of, any_of, none_of
from orm.mongo.naming import ID_FIELD, collection_name, field_name

TEMPORARY_PREFIX = "__orm_r"


@dataclass(frozen=True)
class CompiledFilter:
    match: dict[str, Any]  # for find(filter) or a $match stage; {} = everything
    lookups: tuple[dict[str, Any], ...]  # $lookup stages the match needs first
    temporary_fields: tuple[str, ...]  # fields the lookups add, to $project away / $unset


def compile_filter(meta: EntityMetadata, condition: Condition | None) -> CompiledFilter:
    """``condition`` on documents of ``meta``: a match document and the lookups it reads."""
    if condition is None:
        return CompiledFilter({}, (), ())
    scope = _Scope()
    match = _Compiler().match(scope, condition, True)
    return CompiledFilter(match, tuple(scope.lookups), tuple(scope.temporary))


def null_row_truth(node: Condition) -> bool | None:
    """``node`` on a row of NULLs (a to-one relation's missing target): True, False, or None
    for UNKNOWN, by SQL's three-valued logic."""
    if isinstance(node, Comparison):
        return null_row_value(node)
    if isinstance(node, RelationCondition):
        # A missing target's to-one relations are missing too; its collections are empty.
        return null_row_truth(node.condition) if node.prop.is_to_one else False
    if isinstance(node, Not):
        inner = null_row_truth(node.item)
        return None if inner is None else not inner
    values = [null_row_truth(item) for item in node.items]
    if isinstance(node, And):
        if False in values:
            return False
        return True if all(v is True for v in values) else None
    if True in values:
        return True
    return False if all(v is False for v in values) else None


@dataclass
class _Scope:
    """The lookups (and their fields) one match document needs: a query's, or a lookup
    pipeline's."""

    lookups: list[Document] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)


class _Compiler:
    def __init__(self) -> None:
        self.lookup_count = 0  # numbers the temporary fields of one compile

    def match(self, scope: _Scope, node: Condition, want: bool) -> Document:
        """The documents where ``node`` evaluates to ``want`` (TRUE or FALSE)."""
        if isinstance(node, Comparison):
            return comparison_pair(node)[0 if want else 1]
        if isinstance(node, Not):
            return self.match(scope, node.item, not want)
        if isinstance(node, RelationCondition):
            return self.relation(scope, node, want)
        parts = [self.match(scope, item, want) for item in node.items]
        # And is TRUE where all are, FALSE where any is; Or the other way round.
        if isinstance(node, And) is want:
            return all_of(parts)
        return any_of(parts)

    def relation(self, scope: _Scope, node: RelationCondition, want: bool) -> Document:
        prop = node.prop
        if not prop.is_to_one:
            name = self.lookup(scope, prop, node.condition, True, negate=False)
            return {name: {"$ne": []} if want else {"$eq": []}}
        # At most one target: the condition has ``want`` where the target has it, or where
        # there is no target and a row of NULLs has it. In that second case, look for a
        # target that has not ``want``, whose absence is the answer.
        missing_target_matches = null_row_truth(node.condition) is want
        name = self.lookup(scope, prop, node.condition, want, negate=missing_target_matches)
        return {name: {"$eq": []} if missing_target_matches else {"$ne": []}}

    def lookup(
        self, scope: _Scope, prop: PropertyMetadata, inner: Condition, want: bool, *, negate: bool
    ) -> str:
        """Add to ``scope`` a $lookup of ``prop``'s targets where ``inner`` is ``want`` (or,
        when ``negate``, where it is not); return the field it fills."""
        target = prop.target
        assert target is not None
        self.lookup_count += 1
        name = f"{TEMPORARY_PREFIX}{self.lookup_count}"
        inner_scope = _Scope()
        match = self.match(inner_scope, inner, want)
        if negate:
            match = none_of(match)
        local, foreign = _link(prop)
        pipeline: list[Document] = list(inner_scope.lookups)
        if match:
            pipeline.append({"$match": match})
        # Whether a target exists is all the match needs: keep one, and only its _id.
        pipeline += [{"$limit": 1}, {"$project": {ID_FIELD: 1}}]
        scope.lookups.append(
            {
                "$lookup": {
                    "from": collection_name(target),
                    "localField": local,
                    "foreignField": foreign,
                    "pipeline": pipeline,
                    "as": name,
                }
            }
        )
        scope.temporary.append(name)
        return name


def _link(prop: PropertyMetadata) -> tuple[str, str]:
    """(localField, foreignField) joining documents to ``prop``'s targets."""
    if prop.owner and (prop.is_to_one or prop.relation is RelationKind.MANY_TO_MANY):
        # The foreign key, or the array of target ids, is here.
        return field_name(prop), ID_FIELD
    inverse = prop.inverse
    assert inverse is not None, f"{prop.path} has no owning side"
    return ID_FIELD, field_name(inverse)
