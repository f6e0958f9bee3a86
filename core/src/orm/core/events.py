"""Lifecycle hooks on entities and event subscribers on the ORM (docs/events.md).

Hooks are methods with documented names on the entity class; subscribers are objects with
methods named after the events, registered on the ORM (``Config(subscribers=[...])`` or
``orm.events.subscribe(subscriber, entities=[Author])``). Both may be ``async``, except
``on_init`` and ``on_load``, which run while an object is being built. A hook takes ``self``
and optionally an :class:`EventArgs`; a subscriber method takes the event's arguments object.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orm.core.errors import MetadataError

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager

# Entity events, in the order a flush runs them: hooks on the entity, then subscribers.
ENTITY_EVENTS = (
    "before_create",
    "after_create",
    "before_update",
    "after_update",
    "before_delete",
    "after_delete",
    "after_upsert",
)
# Run while an object is built (construction, hydration): these cannot be awaited.
BUILD_HOOKS = ("on_init", "on_load")
FLUSH_EVENTS = ("before_flush", "on_flush", "after_flush")
TRANSACTION_EVENTS = ("before_commit", "after_commit", "after_rollback")
# A class method receiving each row (a dict it may change) before em.upsert sends it.
BEFORE_UPSERT = "before_upsert"
HOOK_NAMES = (*BUILD_HOOKS, *ENTITY_EVENTS, BEFORE_UPSERT)


@dataclass(frozen=True)
class EventArgs:
    """What an entity hook (when it takes a second parameter) or subscriber receives.

    ``em`` is the fork (None for ``on_init`` at construction); ``changes`` maps the changed
    properties to their new values for ``before_update``/``after_update``.
    """

    entity: Any
    em: EntityManager | None
    changes: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ChangeSet:
    """What a flush writes: new, changed (with their changed properties) and removed entities."""

    inserts: tuple[Any, ...] = ()
    updates: tuple[tuple[Any, Mapping[str, Any]], ...] = ()
    removes: tuple[Any, ...] = ()


@dataclass(frozen=True)
class FlushEventArgs:
    """``before_flush`` (``change_set`` None: not computed yet), ``on_flush`` (what will be
    written; subscribers may still persist, change or remove entities) and ``after_flush``."""

    em: EntityManager
    change_set: ChangeSet | None = None


@dataclass(frozen=True)
class UpsertEventArgs:
    """``before_upsert``: the rows of ``em.upsert`` about to be sent (dicts that may be changed)."""

    entity: type[Any]
    rows: list[dict[str, Any]]
    em: EntityManager


@dataclass(frozen=True)
class TransactionEventArgs:
    """``before_commit``, ``after_commit`` (only once COMMIT succeeded) and ``after_rollback``."""

    em: EntityManager


@dataclass(frozen=True)
class EntityHooks:
    """The hook methods one entity class defines: name -> (function, takes EventArgs)."""

    methods: Mapping[str, tuple[Callable[..., Any], bool]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.methods)


_HOOKS: dict[type[Any], EntityHooks] = {}


def hooks_of(cls: type[Any]) -> EntityHooks:
    """The lifecycle hooks of an entity class, checked (a MetadataError names a wrong one)."""
    found = _HOOKS.get(cls)
    if found is None:
        found = _HOOKS[cls] = _inspect_hooks(cls)
    return found


def _inspect_hooks(cls: type[Any]) -> EntityHooks:
    methods: dict[str, tuple[Callable[..., Any], bool]] = {}
    for name in HOOK_NAMES:
        attribute = inspect.getattr_static(cls, name, None)
        if attribute is None:
            continue
        where = f"{cls.__name__}.{name}"
        if name == BEFORE_UPSERT:
            if not isinstance(attribute, classmethod | staticmethod):
                raise MetadataError(
                    f"{where} must be a @classmethod (or @staticmethod) taking the row dict: "
                    f"em.upsert has no entity yet when it runs"
                )
            function = getattr(cls, name)
            methods[name] = (function, False)
            continue
        if not inspect.isfunction(attribute):
            raise MetadataError(f"{where} is a lifecycle hook name: define it as a method")
        parameters = list(inspect.signature(attribute).parameters.values())[1:]
        if len(parameters) > 1:
            raise MetadataError(
                f"{where} takes {len(parameters)} parameters besides self; a hook takes none "
                f"or one (the EventArgs)"
            )
        if name in BUILD_HOOKS and inspect.iscoroutinefunction(attribute):
            raise MetadataError(
                f"{where} is async, but {name} runs while the object is built and cannot be "
                f"awaited; make it a plain method (do async work in before_create/update)"
            )
        methods[name] = (attribute, bool(parameters))
    return EntityHooks(methods)


def run_build_hook(entity: Any, name: str, em: EntityManager | None) -> None:
    """``on_init`` / ``on_load`` of ``entity``, if its class defines it."""
    hook = hooks_of(type(entity)).methods.get(name)
    if hook is None:
        return
    function, takes_args = hook
    if takes_args:
        function(entity, EventArgs(entity, em))
    else:
        function(entity)


async def _call(function: Callable[..., Any], *args: Any) -> None:
    result = function(*args)
    if inspect.isawaitable(result):
        await result


class Events:
    """The subscribers of one ORM and the dispatch of every event (hooks first)."""

    def __init__(self, entities: Sequence[type[Any]], subscribers: Sequence[Any] = ()) -> None:
        self.subscriptions: list[tuple[Any, tuple[type[Any], ...] | None]] = []
        # Checked here, so a wrong hook is a MetadataError at ORM.init.
        checked = [hooks_of(cls) for cls in entities]
        self.hooks = any(checked)
        for subscriber in subscribers:
            self.subscribe(subscriber)

    def subscribe(self, subscriber: Any, *, entities: Sequence[type[Any]] | None = None) -> None:
        """Call ``subscriber``'s methods named after events; entity events only for
        ``entities`` (or the subscriber's own ``entities`` attribute) when given."""
        limited = entities if entities is not None else getattr(subscriber, "entities", None)
        names = [name for name in _SUBSCRIBER_EVENTS if callable(getattr(subscriber, name, None))]
        if not names:
            raise MetadataError(
                f"{type(subscriber).__name__} has no event method; define one or more of "
                f"{', '.join(_SUBSCRIBER_EVENTS)}"
            )
        self.subscriptions.append((subscriber, tuple(limited) if limited else None))

    def unsubscribe(self, subscriber: Any) -> None:
        self.subscriptions = [(s, e) for s, e in self.subscriptions if s is not subscriber]

    def _subscribers(self, name: str, cls: type[Any] | None) -> list[Callable[..., Any]]:
        found = []
        for subscriber, entities in self.subscriptions:
            method = getattr(subscriber, name, None)
            if method is None:
                continue
            if cls is not None and entities is not None and not issubclass(cls, entities):
                continue
            found.append(method)
        return found

    @property
    def flush_listeners(self) -> bool:
        """Whether a flush or upsert runs any entity hook or any subscriber of an entity,
        upsert or flush event (else it plans once and skips them); subscribers of transaction
        events alone do not count."""
        return self.hooks or any(
            callable(getattr(subscriber, name, None))
            for subscriber, _ in self.subscriptions
            for name in _FLUSH_PATH_EVENTS
        )

    @property
    def transaction_listeners(self) -> bool:
        """Whether any subscriber listens to a transaction event."""
        return any(
            callable(getattr(subscriber, name, None))
            for subscriber, _ in self.subscriptions
            for name in TRANSACTION_EVENTS
        )

    async def entity_event(
        self,
        name: str,
        entity: Any,
        em: EntityManager,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        args = EventArgs(entity, em, changes)
        hook = hooks_of(type(entity)).methods.get(name)
        if hook is not None:
            function, takes_args = hook
            await (_call(function, entity, args) if takes_args else _call(function, entity))
        for method in self._subscribers(name, type(entity)):
            await _call(method, args)

    async def flush_event(
        self, name: str, em: EntityManager, change_set: ChangeSet | None = None
    ) -> None:
        for method in self._subscribers(name, None):
            await _call(method, FlushEventArgs(em, change_set))

    async def before_upsert(
        self, cls: type[Any], rows: list[dict[str, Any]], em: EntityManager
    ) -> None:
        hook = hooks_of(cls).methods.get(BEFORE_UPSERT)
        if hook is not None:
            for row in rows:
                await _call(hook[0], row)
        for method in self._subscribers(BEFORE_UPSERT, cls):
            await _call(method, UpsertEventArgs(cls, rows, em))

    async def transaction_event(self, name: str, em: Any) -> None:
        """``name`` for the transaction of ``em`` (an EntityManager fork)."""
        for method in self._subscribers(name, None):
            await _call(method, TransactionEventArgs(em))


_FLUSH_PATH_EVENTS = (*ENTITY_EVENTS, BEFORE_UPSERT, *FLUSH_EVENTS)
_SUBSCRIBER_EVENTS = (*_FLUSH_PATH_EVENTS, *TRANSACTION_EVENTS)


class EventSubscriber:
    """An optional base class for subscribers (any object with event methods will do):
    override the events you need; ``entities`` limits the entity events to those classes."""

    entities: Sequence[type[Any]] | None = None
