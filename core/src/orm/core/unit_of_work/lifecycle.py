"""The flush's lifecycle events: ``before_*`` hooks and ``on_flush`` before anything is sent,
``after_*`` hooks and ``after_flush`` once it is written (docs/events.md).

A ``before_*`` hook or an ``on_flush`` subscriber may change, persist or remove entities: the
plan is computed again after them, and the entities they brought in get their own
``before_*`` hooks, until nothing new appears. Each entity's ``before_*`` hook runs once per
flush. The value checks run on the final plan only, so a hook may set a required value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orm.core.errors import EntityStateError
from orm.core.events import ChangeSet
from orm.core.unit_of_work.plan import FlushPlan, build_plan

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager
    from orm.core.events import Events
    from orm.core.unit_of_work.uow import UnitOfWork

# Hooks that keep bringing in new entities would never end: stop with an error instead.
MAX_ROUNDS = 20


def change_set_of(plan: FlushPlan) -> ChangeSet:
    return ChangeSet(tuple(plan.inserts), tuple(plan.updates), tuple(plan.removes))


async def plan_with_events(uow: UnitOfWork, events: Events, em: EntityManager) -> FlushPlan:
    """The flush plan after ``before_flush``, the ``before_*`` hooks and ``on_flush``."""
    await events.flush_event("before_flush", em)
    hooked: set[int] = set()
    flushed_event = False
    for _ in range(MAX_ROUNDS):
        draft = await build_plan(uow, check_values=False)
        pending: list[tuple[str, Any, Any]] = [
            ("before_create", entity, None) for entity in draft.inserts if id(entity) not in hooked
        ]
        pending += [
            ("before_update", entity, changes)
            for entity, changes in draft.updates
            if id(entity) not in hooked
        ]
        pending += [
            ("before_delete", entity, None) for entity in draft.removes if id(entity) not in hooked
        ]
        if pending:
            for name, entity, changes in pending:
                hooked.add(id(entity))
                await events.entity_event(name, entity, em, changes)
            continue
        if not flushed_event and not draft.empty:
            flushed_event = True
            await events.flush_event("on_flush", em, change_set_of(draft))
            continue  # on_flush may have changed what is written
        return await build_plan(uow)
    raise EntityStateError(
        f"the flush's before_* hooks and on_flush subscribers kept persisting, changing or "
        f"removing entities for {MAX_ROUNDS} rounds; a hook must not create a new entity every "
        f"time it runs"
    )


async def after_written(events: Events, em: EntityManager, plan: FlushPlan) -> None:
    """``after_create``/``after_update``/``after_delete``, then ``after_flush``."""
    for entity in plan.inserts:
        await events.entity_event("after_create", entity, em)
    for entity, changes in plan.updates:
        await events.entity_event("after_update", entity, em, changes)
    for entity in plan.removes:
        await events.entity_event("after_delete", entity, em)
    await events.flush_event("after_flush", em, change_set_of(plan))
