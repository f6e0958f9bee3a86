"""Who generates a primary key: the driver's :class:`KeyPolicy`, applied at ``ORM.init``.

Discovery records what an entity declares about its key (``PrimaryKey(autoincrement=...)``, a
default or default factory); what it leaves open is decided here against the policy of the
driver's ``Platform``, once the driver is known. SQL databases number ``int`` keys themselves;
a document database may number nothing and generate string or UUID keys in the client instead.

Metadata is shared by every ORM over the same classes (``discover`` reuses it), so binding a
second ORM whose policy decides a key differently is a :class:`ConfigurationError` naming the
entity, instead of changing the metadata under the ORM already using it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from orm.core.errors import ConfigurationError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, ScalarKind


class KeyGeneration(enum.Enum):
    """How the key of a new entity gets its value."""

    # The application sets it (a natural key, or a default / default_factory on the field).
    NONE = "none"
    # The database assigns it on insert and reports it back (identity, AUTO_INCREMENT, a
    # sequence default).
    AUTOINCREMENT = "autoincrement"
    # The ORM calls the policy's generator just before the insert (uuid4, an ObjectId).
    CLIENT = "client"


@dataclass(frozen=True)
class KeyPolicy:
    """What a driver generates for a single-column key that does not say (docs/drivers.md)."""

    # The database numbers int keys (identity / AUTO_INCREMENT). When False, an int key that
    # declares nothing is an error at ORM.init, unless ``generators`` has one for integers.
    integer_autoincrement: bool = True
    # Client-side generators by key type, e.g. ((ScalarKind.STRING, new_object_id),): an
    # undecided key of a listed type gets a generated value before its insert.
    generators: tuple[tuple[ScalarKind, Callable[[], Any]], ...] = field(default=())

    def generator_for(self, kind: ScalarKind | None) -> Callable[[], Any] | None:
        return next((make for k, make in self.generators if k is kind), None)

    def __str__(self) -> str:
        # The cell of docs/drivers.md's capability table.
        parts = ["int: autoincrement"] if self.integer_autoincrement else []
        parts.extend(f"{kind.value}: client" for kind, _ in self.generators)
        return ", ".join(parts) or "none"


# What every SQL driver does today; discovery resolves with it until a driver binds its own.
SQL_KEY_POLICY = KeyPolicy()


@dataclass(frozen=True)
class KeyDecision:
    generation: KeyGeneration
    # Only for CLIENT keys generated from the policy (a field's own default_factory already ran
    # when the entity was constructed).
    factory: Callable[[], Any] | None = None


def decide_key(prop: PropertyMetadata, policy: KeyPolicy, driver: str) -> KeyDecision:
    """The generation of the key ``prop`` under ``policy``; an error when the driver cannot."""
    declared = prop.declared_autoincrement
    composite = len(prop.entity.primary_keys) > 1
    if prop.relation is not None or declared is False or composite:
        # A key that is a relation or part of a composite key comes from the application
        # (composite keys with autoincrement=True are rejected by discovery).
        return KeyDecision(KeyGeneration.NONE)
    kind = prop.kind
    if kind is ScalarKind.INTEGER and (declared or not prop.has_default):
        if policy.integer_autoincrement:
            return KeyDecision(KeyGeneration.AUTOINCREMENT)
        make = policy.generator_for(kind)
        if make is not None and not declared:
            return KeyDecision(KeyGeneration.CLIENT, make)
        raise ConfigurationError(
            f"{prop.path}: the {driver} driver cannot generate int keys, and {prop.path} is an "
            f"int key with no value of its own; declare PrimaryKey(autoincrement=False) and set "
            f"the key yourself, give it a default_factory, or use a key type this driver "
            f"generates"
        )
    if kind is ScalarKind.INTEGER and policy.integer_autoincrement:
        # Today's rule on SQL: an int key is numbered by the database even with a default.
        return KeyDecision(KeyGeneration.AUTOINCREMENT)
    if prop.has_default:
        return KeyDecision(KeyGeneration.NONE)
    make = policy.generator_for(kind)
    if make is not None:
        return KeyDecision(KeyGeneration.CLIENT, make)
    return KeyDecision(KeyGeneration.NONE)


@dataclass
class KeyBinding:
    """The decisions for a set of entities, applied (and undone if ``connect`` fails) as one."""

    policy: KeyPolicy
    decisions: dict[int, tuple[PropertyMetadata, KeyDecision]]
    metas: list[EntityMetadata]
    _before: list[tuple[EntityMetadata, Any, list[tuple[PropertyMetadata, KeyDecision]]]] = field(
        default_factory=list, init=False
    )

    def apply(self) -> None:
        for meta in self.metas:
            previous = [(p, _current(p)) for p in meta.primary_keys]
            self._before.append((meta, meta.key_policy, previous))
            for prop in meta.primary_keys:
                _set(prop, self.decisions[id(prop)][1])
            if meta.key_policy is None:
                meta.key_policy = self.policy

    def undo(self) -> None:
        for meta, policy, previous in reversed(self._before):
            meta.key_policy = policy
            for prop, decision in previous:
                _set(prop, decision)
        self._before.clear()


def bind_key_policy(metas: Iterable[EntityMetadata], policy: KeyPolicy, driver: str) -> KeyBinding:
    """Decide every key of ``metas`` for ``policy``; raise before changing anything.

    Deterministic: the same policy always decides the same. Metadata already bound by another
    ORM keeps its decisions; a policy that would decide one of its keys differently is an error.
    """
    metas = list(metas)
    decisions: dict[int, tuple[PropertyMetadata, KeyDecision]] = {}
    for meta in metas:
        for prop in meta.primary_keys:
            decision = decide_key(prop, policy, driver)
            if meta.key_policy is not None and meta.key_policy != policy:
                if _current(prop).generation is not decision.generation:
                    raise ConfigurationError(
                        f"{meta.class_name}: another ORM over the same entity classes generates "
                        f"{prop.path} as {_current(prop).generation.value}, but the {driver} "
                        f"driver would make it {decision.generation.value}; declare the key "
                        f"explicitly (PrimaryKey(autoincrement=False) and a default_factory), or "
                        f"map separate entity classes for this database"
                    )
                decision = _current(prop)
            decisions[id(prop)] = (prop, decision)
    return KeyBinding(policy, decisions, metas)


def resolve_keys(meta: EntityMetadata, policy: KeyPolicy) -> None:
    """Apply ``policy`` to ``meta`` without binding it (discovery's provisional SQL decision)."""
    for prop in meta.primary_keys:
        _set(prop, decide_key(prop, policy, "default"))


def _current(prop: PropertyMetadata) -> KeyDecision:
    return KeyDecision(prop.key_generation or KeyGeneration.NONE, prop.key_factory)


def _set(prop: PropertyMetadata, decision: KeyDecision) -> None:
    prop.key_generation = decision.generation
    prop.key_factory = decision.factory
    prop.autoincrement = decision.generation is KeyGeneration.AUTOINCREMENT
    for column in prop.columns:
        column.autoincrement = prop.autoincrement
