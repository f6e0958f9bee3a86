"""The joins of a builder, and loading ``join_and_select`` aliases into entities.

A ``join()`` call is checked against the builder's aliases and recorded as a :class:`JoinSpec`;
at rendering :class:`JoinsBuild` hangs each one off the root (through the pivot table for a
many-to-many relation), with its extra condition in the ON clause. ``get_result_list()``
selects the root and every fetched alias as an :class:`EntitySlot`, whose reader turns its
columns into entity data; :func:`hydrate_entities` merges those into the identity map and
fills the references and collections the joins loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.collection import Collection
from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind
from orm.query_builder.links import (
    entity_slice,
    pivot_columns,
    pivot_links,
    relation_link,
    select_properties,
)
from orm.query_builder.qb.conditions import ConditionsBuild
from orm.query_builder.qb.raw import IDENTIFIER, Raw
from orm.query_builder.qb.scope import QbScope, check_alias

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager
    from orm.query_builder.qb.clauses import QueryClauses


@dataclass(frozen=True)
class JoinSpec:
    alias: str
    parent: str
    prop: PropertyMetadata
    left: bool
    fetch: bool
    condition: Any = None


def join_spec(
    qb: QueryClauses[Any], path: str, alias: str, condition: Any, *, left: bool, fetch: bool
) -> JoinSpec:
    """``join(path, alias, condition)`` checked against the aliases ``qb`` has so far."""
    state = qb.state
    if not isinstance(path, str):
        raise ValidationError(f"join() takes a path such as 'b.author', got {path!r}")
    names = [part.strip() for part in path.split(".")]
    if len(names) == 1:
        names.insert(0, state.alias)
    if len(names) != 2 or not all(IDENTIFIER.match(n) for n in names):
        raise ValidationError(
            f"join({path!r}): write '<alias>.<relation>', e.g. '{state.alias}.author'; join "
            f"deeper relations from the new alias"
        )
    parent, relation = names
    meta = state.aliases.get(parent)
    if meta is None:
        raise ValidationError(
            f"join({path!r}): unknown alias {parent!r}; known aliases: {', '.join(state.aliases)}"
        )
    prop = meta.properties.get(relation)
    if prop is None or prop.target is None:
        relations = [p.name for p in meta.properties.values() if p.target is not None]
        what = "no property" if prop is None else "no relation"
        raise ValidationError(
            f"join({path!r}): {meta.class_name} has {what} {relation!r}; its relations: "
            f"{', '.join(relations) or 'none'}"
        )
    check_alias(alias)
    if alias in state.aliases:
        raise ValidationError(f"join({path!r}, {alias!r}): the alias {alias!r} is taken")
    if fetch and parent not in state.fetched:
        raise ValidationError(
            f"join_and_select({path!r}): {parent!r} is joined without being selected, so "
            f"its {relation} cannot be filled; use join_and_select for {parent!r} too"
        )
    if condition is not None and not isinstance(condition, (Mapping, Raw)):
        raise ValidationError(
            f"join({path!r}): the condition is a filter dict or raw(), got {condition!r}"
        )
    return JoinSpec(alias, parent, prop, left, fetch, condition)


@dataclass
class EntitySlot:
    """The columns of one entity in a row (the root or a ``join_and_select`` alias)."""

    alias: str
    meta: EntityMetadata
    parent: str | None
    prop: PropertyMetadata | None
    read: Callable[[Sequence[Any]], dict[str, Any] | None] = field(default=lambda row: None)


class JoinsBuild(ConditionsBuild):
    """The joins and fetched entities of one rendering (see :class:`BuildBase`)."""

    def attach_joins(self) -> None:
        renderer = self.renderer
        for join in self.qb.state.joins:
            parent = self.scopes[join.parent]
            prop = join.prop
            target = prop.target
            assert target is not None
            alias = renderer.tables[target.table].alias(join.alias)
            scope = QbScope(renderer, target, alias, join.alias)
            self.scopes[join.alias] = scope
            outer = join.left
            if prop.relation is RelationKind.MANY_TO_MANY:
                pivot_table, _, _ = pivot_columns(prop)
                pivot = renderer.tables[pivot_table].alias(self.next_alias("p"))
                to_pivot, link = pivot_links(pivot, prop, parent, scope)
                onclause = self._with_join_condition(link, join.condition, scope)
                self.root.from_clause = self.root.from_clause.join(
                    pivot, to_pivot, isouter=outer
                ).join(scope.from_clause, onclause, isouter=outer)
            else:
                link = relation_link(parent, scope, prop)
                onclause = self._with_join_condition(link, join.condition, scope)
                self.root.from_clause = self.root.from_clause.join(
                    scope.from_clause, onclause, isouter=outer
                )
            scope.attach_to = self.root

    def _with_join_condition(
        self, link: ColumnElement[bool], condition: Any, scope: QbScope
    ) -> ColumnElement[bool]:
        if condition is None:
            return link
        extra = self.condition(condition, scope, where=f"join condition of {scope.name!r}")
        return link if extra is None else sa.and_(link, extra)

    @property
    def multiplies_roots(self) -> bool:
        """Whether a join can repeat a root row (a to-many relation somewhere in the joins)."""
        return any(join.prop.is_collection for join in self.qb.state.joins)

    def entity_slots(self) -> list[EntitySlot]:
        """The root and every ``join_and_select`` alias, for hydration."""
        slots = [EntitySlot(self.qb.state.alias, self.meta, None, None)]
        for join in self.qb.state.joins:
            if join.fetch:
                target = join.prop.target
                assert target is not None
                slots.append(EntitySlot(join.alias, target, join.parent, join.prop))
        return slots

    def slot_columns(self, slots: Sequence[EntitySlot]) -> list[ColumnElement[Any]]:
        elements: list[ColumnElement[Any]] = []
        for slot in slots:
            placed = select_properties(
                self.scopes[slot.alias], slot.meta.persistent, elements, label=slot.alias
            )
            slot.read = entity_slice(placed, self.renderer.values).read_present
        return elements


def hydrate_entities(
    em: EntityManager, slots: list[EntitySlot], rows: list[Sequence[Any]]
) -> list[Any]:
    """The root entities of ``rows``, each once, merged into ``em``'s identity map; fetched
    aliases fill their owners' references and (not yet loaded) collections."""
    uow = em.unit_of_work
    hydrate, register = uow.hydrator.hydrate, uow.register_managed
    roots: dict[int, Any] = {}
    collections: dict[tuple[int, str], tuple[Any, PropertyMetadata, dict[int, Any]]] = {}
    inverse_ones: dict[tuple[int, str], tuple[Any, PropertyMetadata, Any]] = {}
    for row in rows:
        entities: dict[str, Any] = {}
        for slot in slots:
            data = slot.read(row)
            entity = None
            if data is not None:
                entity = hydrate(slot.meta, data)
                register(entity)
            entities[slot.alias] = entity
            if slot.parent is None:
                if entity is not None:
                    roots.setdefault(id(entity), entity)
                continue
            owner = entities.get(slot.parent)
            prop = slot.prop
            if owner is None or prop is None:
                continue
            if prop.is_collection:
                items = collections.setdefault((id(owner), prop.name), (owner, prop, {}))[2]
                if entity is not None:
                    items.setdefault(id(entity), entity)
            elif not prop.owner:  # inverse OneToOne: the key is on the other side
                inverse_ones.setdefault((id(owner), prop.name), (owner, prop, entity))
    for owner, prop, items in collections.values():
        collection: Collection[Any] = owner.__dict__[prop.name]
        if not collection.initialized:
            collection.fill(list(items.values()))
    for owner, prop, entity in inverse_ones.values():
        owner.__dict__.setdefault(prop.name, entity)
    return list(roots.values())
