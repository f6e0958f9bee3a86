"""Queries that produce entities: ``find``, select-in ``populate``, and relation loads."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from orm.core.collection import Collection
from orm.core.errors import ValidationError
from orm.core.keys import Key, entity_key
from orm.core.loading.dataloader import DataLoader
from orm.core.loading.graph import GraphHydrator
from orm.core.loading.populate import (
    PopulatePlan,
    default_collection_order,
    load_signature,
    strategy_unavailable,
)
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind
from orm.core.query.ast import (
    And,
    Comparison,
    Condition,
    CountQuery,
    LoadStrategy,
    Op,
    PivotJoin,
    PopulateNode,
    SelectQuery,
)
from orm.core.query.filter import key_condition, parse_filter, parse_order_by
from orm.core.state import STATE_KEY, meta_of

if TYPE_CHECKING:
    from orm.core.connections import Connections
    from orm.core.unit_of_work.uow import UnitOfWork


class Loader:
    """Belongs to one Unit of Work: reads through ``connections``, hydrates through ``uow``."""

    def __init__(self, connections: Connections, uow: UnitOfWork, *, dataloader: bool) -> None:
        self.connections = connections
        self.uow = uow
        self.dataloader = DataLoader() if dataloader else None

    # -- plain queries ---------------------------------------------------------------------

    async def find(
        self, query: SelectQuery, plan: PopulatePlan, *, refresh: bool = False
    ) -> list[Any]:
        """The entities of ``query`` with ``plan``'s relations loaded by its strategy.

        A locking read, or ``refresh``, overwrites entities of the fork with the rows read
        (the root entity's rows; populated relations follow the identity map rule)."""
        if plan.strategy is LoadStrategy.SELECT_IN or not plan.nodes:
            entities = await self.select(query, refresh=refresh or query.lock_mode is not None)
            await self.populate(entities, plan.nodes)
            return entities
        self._check_strategy(query, plan.strategy)
        if refresh:
            raise ValidationError(
                f"refresh=True with populate needs strategy='select-in' (the "
                f"{plan.strategy.value!r} strategy reads every relation in one statement)"
            )
        graph = replace(query, populate=plan.nodes)
        rows = await self.connections.read(
            lambda connection: connection.find_graph(graph, plan.strategy)
        )
        return GraphHydrator(self.uow).hydrate_all(query.entity, rows, plan.nodes)

    def _check_strategy(self, query: SelectQuery, strategy: LoadStrategy) -> None:
        problem = strategy_unavailable(strategy, self.connections.orm.driver.platform)
        if problem is not None:
            raise ValidationError(problem)
        if query.lock_mode is not None:
            raise ValidationError(
                f"lock_mode with populate needs strategy='select-in' (the {strategy.value!r} "
                f"strategy would lock the rows of every joined table)"
            )

    async def select(self, query: SelectQuery, *, refresh: bool = False) -> list[Any]:
        rows = await self.connections.read(lambda connection: connection.find(query))
        if refresh:
            entities = self.uow.hydrator.hydrate_fresh(query.entity, rows)
        else:
            hydrate = self.uow.hydrator.hydrate
            entities = [hydrate(query.entity, row) for row in rows]
        for entity in entities:
            self.uow.register_managed(entity)
        return entities

    async def by_keys(self, meta: EntityMetadata, keys: list[Key]) -> dict[Key, Any]:
        unique = list(dict.fromkeys(keys))
        entities = await self.select(SelectQuery(meta, where=key_condition(meta, unique)))
        return {key: e for e in entities if (key := entity_key(e, meta)) is not None}

    async def find_by_key(self, meta: EntityMetadata, key: Key) -> Any:
        """One entity by key; concurrent calls for the same entity class share one query."""
        if self.dataloader is None:
            return (await self.by_keys(meta, [key])).get(key)
        return await self.dataloader.load(
            ("key", meta.cls), lambda keys: self.by_keys(meta, keys), key, result_key=key
        )

    # -- populate --------------------------------------------------------------------------

    async def populate(self, entities: Sequence[Any], nodes: Sequence[PopulateNode]) -> None:
        """Select-in loading: one query per relation and level, for all ``entities`` at once."""
        if not entities or not nodes:
            return
        by_class: dict[type[Any], list[Any]] = {}
        for entity in entities:
            by_class.setdefault(type(entity), []).append(entity)
        for cls, group in by_class.items():
            meta = meta_of(cls)
            for node in nodes:
                prop = meta.properties[node.prop.name]
                await self._load_level(group, prop, node)
                if node.children:
                    await self.populate(_related(group, prop), node.children)

    async def _load_level(
        self, owners: list[Any], prop: PropertyMetadata, node: PopulateNode
    ) -> None:
        """One relation for ``owners``; through the dataloader, so populates of the same
        relation started in the same tick (``gather(em.populate(b, ["author"]) for b in
        books)``) share one query."""
        view = load_signature(node)
        group: tuple[Any, ...] = ("relation", id(prop), view)
        if self.dataloader is None or not _hashable(group):
            await self.load_relation(owners, prop, node=node)
            return
        pending = [owner for owner in owners if _needs_load(owner, prop, view)]
        if not pending:
            return  # everything is loaded: nothing to batch

        async def load(batch: list[Any]) -> None:
            await self.load_relation(batch, prop, node=node)

        await self.dataloader.load_all(group, load, pending)

    async def load_relation(
        self,
        owners: Sequence[Any],
        prop: PropertyMetadata,
        *,
        refresh: bool = False,
        node: PopulateNode | None = None,
    ) -> None:
        """Load ``prop`` for every owner that has not loaded it yet: one query in all.

        A collection is read again when it holds another view (``populate_where`` or
        ``populate_order_by``) than ``node`` asks for."""
        unique = list({id(o): o for o in owners}.values())
        if prop.is_owning_to_one:
            await self._load_references(unique, prop)
        elif prop.relation is RelationKind.ONE_TO_ONE:
            await self._load_inverse_one(unique, prop)
        else:
            view = None if node is None else load_signature(node)
            pending = [
                o
                for o in unique
                if refresh
                or not (collection := o.__dict__[prop.name]).initialized
                or collection.view != view
            ]
            if pending:
                await self._load_collections(pending, prop, node)

    async def _load_references(self, owners: list[Any], prop: PropertyMetadata) -> None:
        target = prop.target
        assert target is not None
        keys = []
        for owner in owners:
            value = owner.__dict__.get(prop.name)
            if value is not None and not value.__dict__[STATE_KEY].initialized:
                key = entity_key(value, target)
                if key is not None:
                    keys.append(key)
        if not keys:
            return
        if self.dataloader is None:
            await self.by_keys(target, keys)
            return
        # Joins other loads by key of this class in the same tick (em.load, find_one by key).
        await asyncio.gather(*(self.find_by_key(target, key) for key in dict.fromkeys(keys)))

    async def _load_inverse_one(self, owners: list[Any], prop: PropertyMetadata) -> None:
        target, owning = prop.target, prop.inverse
        assert target is not None and owning is not None
        pending = [o for o in owners if prop.name not in o.__dict__]
        if not pending:
            return
        keys = [entity_key(o, prop.entity) for o in pending]
        found = await self.select(SelectQuery(target, Comparison(owning, Op.IN, tuple(keys))))
        by_owner = {id(e.__dict__.get(owning.name)): e for e in found}
        for owner in pending:
            owner.__dict__[prop.name] = by_owner.get(id(owner))

    async def _load_collections(
        self, owners: list[Any], prop: PropertyMetadata, node: PopulateNode | None
    ) -> None:
        target = prop.target
        assert target is not None
        owner_meta = prop.entity
        keys = [k for k in (entity_key(o, owner_meta) for o in owners) if k is not None]
        by_key = {entity_key(o, owner_meta): o for o in owners}
        order_by = node.order_by if node is not None else default_collection_order(prop)
        where = node.where if node is not None else None
        grouped: dict[Key, list[Any]] = {key: [] for key in keys}
        if prop.relation is RelationKind.ONE_TO_MANY:
            fk = target.properties[prop.mapped_by or ""]
            query = SelectQuery(
                target, _both(Comparison(fk, Op.IN, tuple(keys)), where), order_by=order_by
            )
            rows = await self.connections.read(lambda connection: connection.find(query))
            for row in rows:
                grouped.setdefault(tuple(row[fk.name]), []).append(self._hydrate(target, row))
        else:
            query = SelectQuery(
                target, where, order_by=order_by, pivot=PivotJoin(prop, tuple(keys))
            )
            rows = await self.connections.read(lambda connection: connection.find(query))
            for row in rows:
                owner_key = tuple(row.pop("__owner__"))
                grouped.setdefault(owner_key, []).append(self._hydrate(target, row))
        view = None if node is None else load_signature(node)
        for key, items in grouped.items():
            owner = by_key.get(key)
            if owner is not None:
                owner.__dict__[prop.name].fill(items, view=view)

    def _hydrate(self, meta: EntityMetadata, row: dict[str, Any]) -> Any:
        entity = self.uow.hydrator.hydrate(meta, row)
        self.uow.register_managed(entity)
        return entity

    # -- collection entry points -----------------------------------------------------------

    async def load_collection(self, collection: Collection[Any], *, refresh: bool) -> None:
        prop = collection.property_metadata
        if self.dataloader is None or refresh:
            await self.load_relation([collection.owner], prop, refresh=refresh)
            return
        await self.dataloader.load(
            ("collection", id(prop)),
            lambda owners: self._load_many(owners, prop),
            collection.owner,
            result_key=id(collection.owner),
        )

    async def _load_many(self, owners: list[Any], prop: PropertyMetadata) -> None:
        await self.load_relation(owners, prop)
        return

    async def count_collection(self, collection: Collection[Any]) -> int:
        prop = collection.property_metadata
        owner = collection.owner
        if self.dataloader is None:
            return (await self._counts([owner], prop)).get(id(owner), 0)
        result = await self.dataloader.load(
            ("count", id(prop)),
            lambda owners: self._counts(owners, prop),
            owner,
            result_key=id(owner),
        )
        return int(result or 0)

    async def _counts(self, owners: list[Any], prop: PropertyMetadata) -> dict[Any, int]:
        """Item counts per owner, keyed by ``id(owner)``."""
        target = prop.target
        assert target is not None
        keyed = {key: o for o in owners if (key := entity_key(o, prop.entity)) is not None}
        keys = tuple(keyed)
        if prop.relation is RelationKind.ONE_TO_MANY:
            fk = target.properties[prop.mapped_by or ""]
            query = CountQuery(target, Comparison(fk, Op.IN, keys), group_by=fk)
        else:
            query = CountQuery(target, pivot=PivotJoin(prop, keys))
        counts = await self.connections.read(lambda connection: connection.count(query))
        assert isinstance(counts, dict)
        return {id(owner): counts.get(key, 0) for key, owner in keyed.items()}

    async def matching(
        self,
        collection: Collection[Any],
        *,
        where: Mapping[str, Any] | None,
        order_by: Mapping[str, Any] | None,
        limit: int | None,
        offset: int | None,
    ) -> list[Any]:
        prop = collection.property_metadata
        target = prop.target
        assert target is not None
        key = entity_key(collection.owner, prop.entity)
        assert key is not None
        condition = parse_filter(target, where)
        pivot = None
        if prop.relation is RelationKind.ONE_TO_MANY:
            own: Condition = Comparison(target.properties[prop.mapped_by or ""], Op.EQ, key)
            condition = own if condition is None else And((own, condition))
        else:
            pivot = PivotJoin(prop, (key,))
        order = parse_order_by(target, order_by) if order_by else default_collection_order(prop)
        query = SelectQuery(
            target, condition, order_by=order, limit=limit, offset=offset, pivot=pivot
        )
        rows = await self.connections.read(lambda connection: connection.find(query))
        for row in rows:
            row.pop("__owner__", None)
        return [self._hydrate(target, row) for row in rows]


def _needs_load(owner: Any, prop: PropertyMetadata, view: Any) -> bool:
    """Whether ``load_relation`` would read anything for ``owner`` (the same tests)."""
    value = owner.__dict__.get(prop.name)
    if prop.is_owning_to_one:
        return value is not None and not value.__dict__[STATE_KEY].initialized
    if prop.relation is RelationKind.ONE_TO_ONE:
        return prop.name not in owner.__dict__
    return not value.initialized or value.view != view


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _both(condition: Condition, extra: Condition | None) -> Condition:
    return condition if extra is None else And((condition, extra))


def _related(entities: Sequence[Any], prop: PropertyMetadata) -> list[Any]:
    result: dict[int, Any] = {}
    for entity in entities:
        value = entity.__dict__.get(prop.name)
        if value is None:
            continue
        if isinstance(value, Collection):
            for item in value.known_items:
                result[id(item)] = item
        else:
            result[id(value)] = value
    return list(result.values())
