"""Lifecycle hooks and subscribers without a database: declaration errors, construction,
hooks that keep adding entities, subscribing and unsubscribing."""

from __future__ import annotations

from typing import Any

import pytest

from orm.core import (
    EntityStateError,
    EventArgs,
    FlushEventArgs,
    MetadataError,
    PrimaryKey,
    entity,
)

from .fakes import driver_of, fake_orm


@entity(table="hk_note")
class Note:
    id: int = PrimaryKey()
    text: str
    seen: list[str] | None = None

    def on_init(self, args: EventArgs) -> None:
        assert args.entity is self
        self.seen = [*(self.seen or []), "init" if args.em is None else "init+em"]


@entity(table="hk_async_init")
class AsyncInit:
    id: int = PrimaryKey()

    async def on_init(self) -> None: ...


@entity(table="hk_too_many")
class TooMany:
    id: int = PrimaryKey()

    def before_create(self, args: EventArgs, extra: Any) -> None: ...


@entity(table="hk_upsert")
class PlainUpsert:
    id: int = PrimaryKey()

    def before_upsert(self) -> None: ...


@entity(table="hk_breeder")
class Breeder:
    id: int = PrimaryKey()
    name: str

    def before_create(self, args: EventArgs) -> None:
        assert args.em is not None
        args.em.persist(Breeder(name=self.name + "+"))


async def test_on_init_runs_at_construction_without_an_entity_manager() -> None:
    assert Note(text="x").seen == ["init"]


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (AsyncInit, r"AsyncInit.on_init is async, but on_init runs while the object is built"),
        (TooMany, r"TooMany.before_create takes 2 parameters besides self"),
        (PlainUpsert, r"PlainUpsert.before_upsert must be a @classmethod"),
    ],
)
async def test_a_wrong_hook_is_a_metadata_error_at_init(cls: type[Any], message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        await fake_orm([cls])


async def test_hooks_that_keep_creating_entities_stop_with_an_error() -> None:
    orm = await fake_orm([Breeder])
    em = orm.em.fork()
    em.persist(Breeder(name="a"))
    with pytest.raises(EntityStateError, match="kept persisting, changing or removing"):
        await em.flush()
    assert "insert" not in driver_of(orm).ops()  # nothing was sent


async def test_subscribe_needs_an_event_method_and_unsubscribe_stops_the_calls() -> None:
    orm = await fake_orm([Note])
    with pytest.raises(MetadataError, match="has no event method"):
        orm.events.subscribe(object())
    seen: list[str] = []

    class Flushes:
        def after_flush(self, args: FlushEventArgs) -> None:
            seen.append("flush")

    subscriber = Flushes()
    orm.events.subscribe(subscriber)
    em = orm.em.fork()
    em.persist(Note(text="a"))
    await em.flush()
    orm.events.unsubscribe(subscriber)
    em.persist(Note(text="b"))
    await em.flush()
    assert seen == ["flush"]


async def test_without_hooks_or_subscribers_a_flush_plans_once() -> None:
    @entity(table="hk_plain")
    class Plain:
        id: int = PrimaryKey()

    orm = await fake_orm([Plain])
    assert not orm.events.flush_listeners
    em = orm.em.fork()
    em.persist(Plain())
    await em.flush()
    assert driver_of(orm).ops().count("insert") == 1
