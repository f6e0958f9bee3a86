"""Entities from nested rows: what ``Connection.find_graph`` returns for the ``joined`` and
``json-aggregate`` strategies.

A nested row is an ordinary row of the root entity where each populated relation holds its
target's row (a dict, or None) for a to-one relation, and a list of rows for a collection,
recursively. Hydration follows the identity-map rule of :mod:`orm.core.loading.hydrator`;
a collection is filled unless it is already loaded with the same view, as with select-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from orm.core.keys import entity_key
from orm.core.loading.populate import load_signature
from orm.core.metadata.model import EntityMetadata
from orm.core.query.ast import PopulateNode

if TYPE_CHECKING:
    from orm.core.unit_of_work.uow import UnitOfWork


class GraphHydrator:
    """Turns nested rows into managed entities of one Unit of Work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def hydrate_all(
        self, meta: EntityMetadata, rows: Sequence[dict[str, Any]], nodes: Sequence[PopulateNode]
    ) -> list[Any]:
        return [self._entity(meta, row, nodes) for row in rows]

    def _entity(
        self, meta: EntityMetadata, row: dict[str, Any], nodes: Sequence[PopulateNode]
    ) -> Any:
        later: list[tuple[PopulateNode, Any]] = []
        for node in nodes:
            prop = node.prop
            target = prop.target
            assert target is not None
            value = row.pop(prop.name, None)
            if prop.is_owning_to_one:
                # The target first, so the row's foreign key resolves to the loaded entity.
                child = None if value is None else self._entity(target, value, node.children)
                row[prop.name] = None if child is None else entity_key(child, target)
            else:
                later.append((node, value))
        entity = self._uow.hydrator.hydrate(meta, row)
        self._uow.register_managed(entity)
        for node, value in later:
            prop = node.prop
            target = prop.target
            assert target is not None
            if prop.is_collection:
                items = [self._entity(target, item, node.children) for item in value or ()]
                collection = entity.__dict__[prop.name]
                view = load_signature(node)
                if not collection.initialized or collection.view != view:
                    collection.fill(items, view=view)
            else:  # inverse OneToOne: the foreign key is on the target's row
                child = None if value is None else self._entity(target, value, node.children)
                entity.__dict__.setdefault(prop.name, child)
        return entity
