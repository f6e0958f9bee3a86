"""The Unit of Work of one EntityManager fork: what to write, and writing it in one go."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from orm.core.collection import Collection
from orm.core.errors import EntityStateError
from orm.core.keys import entity_key
from orm.core.loading.hydrator import Hydrator, row_key
from orm.core.loading.loader import Loader
from orm.core.metadata.model import EntityMetadata, RelationKind
from orm.core.state import STATE_KEY, EntityState, Status, meta_of, state_of
from orm.core.unit_of_work.execute import FlushExecutor
from orm.core.unit_of_work.identity_map import IdentityMap
from orm.core.unit_of_work.journal import Journal
from orm.core.unit_of_work.lifecycle import after_written, plan_with_events
from orm.core.unit_of_work.plan import FlushPlan, build_plan
from orm.core.unit_of_work.snapshot import take_snapshot
from orm.core.unit_of_work.versions import StaleBatch, stale_rows_error

if TYPE_CHECKING:
    from orm.core.connections import Connections
    from orm.core.entity_manager import EntityManager


class UnitOfWork:
    """Tracks new, touched and removed entities of one fork; ``flush`` writes them.

    Public collaborators: ``identity_map`` (one object per row), ``hydrator`` (rows into
    managed entities: what query builders merge their rows with), ``loader`` (queries that
    produce entities, relation loads), and ``connections`` (where a flush writes), handed in
    by the EntityManager. ``em`` is the fork this belongs to, for code that holds only an
    entity's state; the Unit of Work itself never calls it.
    """

    def __init__(self, em: EntityManager, connections: Connections, *, dataloader: bool) -> None:
        self.em = em
        self.connections = connections
        self.identity_map = IdentityMap()
        self.hydrator = Hydrator(self)
        self.loader = Loader(connections, self, dataloader=dataloader)
        self.persist_queue: dict[int, Any] = {}
        self.remove_queue: dict[int, Any] = {}
        # Entities whose attributes or collections were assigned since the last flush.
        self.touched: dict[int, Any] = {}
        self._mutable_classes: set[type[Any]] = set()
        # Two flushes of one fork at once would plan the same inserts twice.
        self._flushing = asyncio.Lock()
        # How to put the fork back when a transaction block rolls back.
        self.journal = Journal(self)

    # -- transactions ----------------------------------------------------------------------

    def open_journal(self) -> int:
        """A transaction block starts: record what its flushes apply (returns its depth)."""
        return self.journal.open()

    def close_journal(self, depth: int, *, committed: bool) -> None:
        """The block opened at ``depth`` ended; after a rollback the fork is put back."""
        self.journal.close(depth, committed=committed)

    # -- bookkeeping called by descriptors and the EntityManager ----------------------------

    def touch(self, entity: object) -> None:
        self.touched[id(entity)] = entity

    def mutable_entities(self) -> list[Any]:
        """Managed entities with JSON fields, which can change in place without ``__set__``."""
        if not self._mutable_classes:
            return []
        return [e for e in self.identity_map if type(e) in self._mutable_classes]

    def register_managed(self, entity: Any) -> None:
        if meta_of(entity).has_mutable:
            self._mutable_classes.add(type(entity))

    def _own(self, entity: object, action: str) -> EntityState:
        state = state_of(entity)
        if state.uow is not None and state.uow is not self:
            raise EntityStateError(
                f"cannot {action} this {type(entity).__name__}: it belongs to another "
                f"EntityManager fork. Use one fork per unit of work, and load the entity in this "
                f"fork (em.get_reference / em.find_one) instead of passing it across"
            )
        return state

    def persist(self, entity: object) -> None:
        state = self._own(entity, "persist")
        if state.status is Status.REMOVED:
            raise EntityStateError(
                f"cannot persist this {type(entity).__name__}: it was removed from the database; "
                f"create a new instance instead"
            )
        if state.status is Status.DETACHED:
            raise EntityStateError(
                f"cannot persist this {type(entity).__name__}: it was detached by em.clear() "
                f"(or evicted by em.stream() once its batch was done); load it again in this "
                f"fork (find_one / get_reference) and change that instance"
            )
        self.remove_queue.pop(id(entity), None)
        if state.status is Status.NEW:
            state.uow = self
            self.persist_queue[id(entity)] = entity

    def remove(self, entity: object) -> None:
        state = self._own(entity, "remove")
        if state.status is Status.NEW:
            self.persist_queue.pop(id(entity), None)
            return
        if state.status is not Status.MANAGED:
            raise EntityStateError(
                f"cannot remove this {type(entity).__name__}: it is {state.status.value}, not "
                f"managed by this EntityManager"
            )
        self.remove_queue[id(entity)] = entity

    def clear(self) -> None:
        for entity in self.identity_map:
            state = entity.__dict__[STATE_KEY]
            state.uow = None
            state.status = Status.DETACHED
        for entity in self.persist_queue.values():
            entity.__dict__[STATE_KEY].uow = None
        self.identity_map.clear()
        self.persist_queue.clear()
        self.remove_queue.clear()
        self.touched.clear()
        self._mutable_classes.clear()
        self.journal.clear()

    def apply_upserted(self, meta: EntityMetadata, rows: list[dict[str, Any]]) -> list[Any]:
        """The entities of rows an upsert wrote: the row is the truth, even for an entity
        already loaded (its unflushed changes to those columns are overwritten)."""
        hydrator = self.hydrator
        entities = []
        for row in rows:
            existing = self.identity_map.get(meta.cls, row_key(meta, row))
            entity = hydrator.hydrate(meta, row)
            self.journal.record_upsert(entity, meta, existed=existing is not None)
            hydrator.refresh(entity, meta, row)
            self.register_managed(entity)
            entities.append(entity)
        return entities

    # -- flush -----------------------------------------------------------------------------

    async def flush(self) -> None:
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        orm = self.connections.orm
        events = orm.events
        with_events = events.flush_listeners
        if with_events:
            plan = await plan_with_events(self, events, self.em)
        else:
            plan = await build_plan(self)
        if plan.empty:
            self._finish(plan, None)
            return
        executor: FlushExecutor | None = None
        # Applied once committed, even if the task is cancelled while COMMIT is under way.
        try:
            async with self.connections.write_scope(
                lambda: self._finish(plan, executor)
            ) as connection:
                executor = FlushExecutor(
                    plan, connection, orm.commit_order, orm.driver.platform, orm.config.batch_size
                )
                await executor.run()
        except StaleBatch as stale:
            # Rolled back by now: the read sees the rows as the others left them.
            error = await stale_rows_error(
                lambda query: self.connections.read(lambda c: c.find(query), connection="write"),
                stale,
            )
            raise error from None
        if with_events:
            await after_written(events, self.em, plan)

    def _finish(self, plan: FlushPlan, executor: FlushExecutor | None) -> None:
        """Apply a committed flush to the entities: keys, states, snapshots, identity map."""
        if not plan.empty:
            self.journal.record_flush(plan, executor.generated if executor is not None else {})
        if executor is not None:
            # Keys first: a composite key can be made of other new entities' generated keys.
            for entity in plan.inserts:
                for name, value in executor.generated.get(id(entity), {}).items():
                    entity.__dict__[name] = value
        for entity in plan.inserts:
            d = entity.__dict__
            state: EntityState = d[STATE_KEY]
            state.status = Status.MANAGED
            state.uow = self
            state.initialized = True
            meta = meta_of(entity)
            for prop in meta.collections:
                if prop.name not in d:
                    d[prop.name] = Collection(entity, prop.name, initialized=True)
            state.snapshot = take_snapshot(entity, meta)
            key = entity_key(entity, meta)
            assert key is not None
            self.identity_map.add(meta.cls, key, entity)
            self.register_managed(entity)
        versions = executor.versions if executor is not None else {}
        for entity, _ in plan.updates:
            meta = meta_of(entity)
            if id(entity) in versions and meta.version_property is not None:
                entity.__dict__[meta.version_property.name] = versions[id(entity)]
            entity.__dict__[STATE_KEY].snapshot = take_snapshot(entity, meta)
        for entity in plan.removes:
            self._forget_removed(entity)
        for collection in plan.collections:
            collection.mark_flushed()
        for entity in plan.inserts:
            for prop in meta_of(entity).collections:
                entity.__dict__[prop.name].mark_flushed()
        self.persist_queue.clear()
        self.remove_queue.clear()
        self.touched.clear()

    def _forget_removed(self, entity: Any) -> None:
        meta = meta_of(entity)
        state: EntityState = entity.__dict__[STATE_KEY]
        key = entity_key(entity, meta)
        if key is not None:
            self.identity_map.discard(meta.cls, key)
        state.status = Status.REMOVED
        state.uow = None
        for prop in meta.persistent:
            inverse = prop.inverse
            target = entity.__dict__.get(prop.name)
            if prop.relation is None or inverse is None or target is None:
                continue
            other = target.__dict__.get(inverse.name)
            if isinstance(other, Collection):
                other.exclude(entity)
            elif other is entity:
                target.__dict__[inverse.name] = None
        for prop in meta.collections:
            inverse = prop.inverse
            collection = entity.__dict__.get(prop.name)
            if (
                prop.relation is not RelationKind.MANY_TO_MANY
                or inverse is None
                or collection is None
            ):
                continue
            for item in collection.known_items:
                mirror = item.__dict__.get(inverse.name)
                if isinstance(mirror, Collection):
                    mirror.exclude(entity)
