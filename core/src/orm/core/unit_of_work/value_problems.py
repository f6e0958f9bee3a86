"""Check the values a flush or an upsert is about to write, and report every problem at once.

Planning a flush runs :meth:`ValueProblems.check_new` over each new entity and
:meth:`ValueProblems.check_changes` over the changed values of each dirty one; the problems are
collected, and :meth:`ValueProblems.raise_if_any` raises one :class:`FlushValidationError`
listing all of them before any statement is sent, so the EntityManager is left as it was. The
checks are, in order: a required value is there; its type fits the property and the column
(:mod:`value_checks`); the property's declared rules hold (:mod:`value_rules`); and, when all of
that holds for an entity, its ``@entity(validators=[...])`` accept it.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from orm.core.errors import FlushValidationError, ValidationProblem
from orm.core.keys import entity_key
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.core.state import meta_of
from orm.core.unit_of_work.fast_checks import compile_all_fit
from orm.core.unit_of_work.value_checks import ValueCheck, compile_check
from orm.core.unit_of_work.value_rules import RuleCheck, compile_rules, validator_reasons

# (property name, its check, whether a new row needs a value, the property, its rules or None)
PropertyCheck = tuple[str, ValueCheck, bool, PropertyMetadata, RuleCheck | None]
EntityValidator = Callable[[Any], Any]
# The key of a problem of a new entity (ValidationProblem.key).
NEW = "new"

_SHORT = reprlib.Repr()
_SHORT.maxstring = 40
_SHORT.maxother = 40
_SHORT.maxlong = 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4
_SHORT.maxlevel = 2


class CompiledChecks:
    """The checks of one entity class: in property order, and by property name."""

    __slots__ = ("all_fit", "by_name", "entity_validators", "ordered", "rules_by_name")

    def __init__(self, meta: EntityMetadata) -> None:
        self.ordered: tuple[PropertyCheck, ...] = tuple(
            (
                prop.name,
                compile_check(prop),
                not (prop.nullable or prop.autoincrement or prop.server_default is not None),
                prop,
                compile_rules(prop),
            )
            for prop in meta.persistent
        )
        self.by_name: dict[str, ValueCheck] = {name: check for name, check, *_ in self.ordered}
        self.rules_by_name: dict[str, RuleCheck] = {
            name: rules for name, _, _, _, rules in self.ordered if rules is not None
        }
        self.entity_validators: tuple[EntityValidator, ...] = tuple(meta.validators)
        self.all_fit = compile_all_fit(
            [(prop, check, needed, rules) for _, check, needed, prop, rules in self.ordered]
        )


def compiled_checks(meta: EntityMetadata) -> CompiledChecks:
    """The checks of an entity class, compiled on first use and kept on its metadata."""
    checks: CompiledChecks | None = meta.value_checks
    if checks is None:
        checks = meta.value_checks = CompiledChecks(meta)
    return checks


def shorten(value: Any) -> str:
    """A value as an error message shows it: its type, and its repr cut to a readable size."""
    named = with_article(type(value).__name__)
    if isinstance(value, (str, bytes, bytearray)):
        return f"{named} of length {len(value)}: {_SHORT.repr(value)}"
    return f"{named}: {_SHORT.repr(value)}"


def with_article(name: str) -> str:
    """``"an int"``, ``"a str"``."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


class ValueProblems:
    """The problems found while planning one flush (or one upsert)."""

    __slots__ = ("lines", "problems")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.problems: list[ValidationProblem] = []

    def add(self, problem: ValidationProblem, line: str) -> None:
        """One problem, and the line of the error message that says it."""
        self.problems.append(problem)
        self.lines.append(line)

    def check_inserts(self, entities: Iterable[Any]) -> None:
        """:meth:`check_new` for many new entities: the generated fast path of each class first,
        the per-property checks only for an entity it does not pass."""
        last: type[Any] | None = None
        meta: Any = None
        all_fit: Any = None
        validators: tuple[EntityValidator, ...] = ()
        for entity in entities:
            if type(entity) is not last:
                last = type(entity)
                meta = meta_of(entity)
                checks = compiled_checks(meta)
                all_fit, validators = checks.all_fit, checks.entity_validators
            if not all_fit(entity.__dict__):
                self.check_new(entity, meta)
            elif validators:
                self.check_entity(entity, meta, NEW)

    def check_new(self, entity: Any, meta: EntityMetadata) -> None:
        """Every persistent value of a new entity, a missing required one too; then, when they
        are all right, the entity's validators."""
        d = entity.__dict__
        checks = meta.value_checks or compiled_checks(meta)
        found = len(self.lines)
        if not checks.all_fit(d):
            name = meta.class_name
            for prop_name, check, required, prop, rules in checks.ordered:
                value = d.get(prop_name)
                if value is None:
                    if required:
                        self.add(
                            ValidationProblem(name, NEW, prop_name, "required but has no value"),
                            f"{prop.path} is required but the new {name} has no value for it; "
                            f"set it (or declare it `| None`, or give it a default) before "
                            f"flushing",
                        )
                    continue
                expected = check(value)
                if expected is not None:
                    self._wrong(prop, NEW, f"the new {name}", value, expected)
                elif rules is not None and (reasons := rules(value)) is not None:
                    self._broken(prop, NEW, f"the new {name}", value, reasons)
        if len(self.lines) == found and checks.entity_validators:
            self.check_entity(entity, meta, NEW)

    def check_changes(self, entity: Any, meta: EntityMetadata, changes: Mapping[str, Any]) -> None:
        """The changed values of a managed entity (``{name: new value}``); then, when they are
        all right, the entity's validators."""
        properties = meta.properties
        checks = compiled_checks(meta)
        by_name, rules_by_name = checks.by_name, checks.rules_by_name
        validators = checks.entity_validators
        found = len(self.lines) if validators else 0
        for name, value in changes.items():
            prop = properties[name]
            if prop.primary:
                self.add(
                    ValidationProblem(
                        meta.class_name, _key(entity, meta), name, "a primary key cannot change"
                    ),
                    f"{prop.path} is a primary key and cannot change once the {meta.class_name} "
                    f"is stored; create a new entity instead",
                )
            elif value is None:
                if not prop.nullable:
                    who = _who(entity, meta)
                    self.add(
                        ValidationProblem(
                            meta.class_name, _key(entity, meta), name, "required but set to None"
                        ),
                        f"{prop.path} cannot be set to None on {who}: the column is NOT NULL. "
                        f"Assign a value, or remove the entity instead",
                    )
            else:
                expected = by_name[name](value)
                if expected is not None:
                    self._wrong(prop, _key(entity, meta), _who(entity, meta), value, expected)
                elif rules_by_name and (rules := rules_by_name.get(name)) is not None:
                    reasons = rules(value)
                    if reasons is not None:
                        self._broken(prop, _key(entity, meta), _who(entity, meta), value, reasons)
        if validators and len(self.lines) == found:
            self.check_entity(entity, meta, _key(entity, meta))

    def check_entity(self, entity: Any, meta: EntityMetadata, key: Any) -> None:
        """The entity-level validators of ``entity``, whose values are all of the right type."""
        who = f"the new {meta.class_name}" if key == NEW else _who(entity, meta)
        for validator in compiled_checks(meta).entity_validators:
            for reason in validator_reasons(validator, entity):
                name = getattr(validator, "__name__", type(validator).__name__)
                self.add(
                    ValidationProblem(meta.class_name, key, None, reason),
                    f"{who} is refused by its validator {name}: {reason}. Nothing was sent: fix "
                    f"the entity and flush again",
                )

    def check_row(self, meta: EntityMetadata, row: Mapping[str, Any], where: str) -> None:
        """The scalar values of one upsert row (relations were already turned into keys)."""
        checks = compiled_checks(meta)
        by_name, rules_by_name = checks.by_name, checks.rules_by_name
        for name, value in row.items():
            prop = meta.properties[name]
            if prop.relation is not None:
                continue
            if value is None:
                if not prop.nullable and not prop.autoincrement:
                    self.add(
                        ValidationProblem(meta.class_name, None, name, "required but None"),
                        f"{where}: {prop.path} cannot be None: the column is NOT NULL; give it a "
                        f"value",
                    )
                continue
            expected = by_name[name](value)
            if expected is not None:
                self._wrong(prop, None, where, value, expected)
            elif (rules := rules_by_name.get(name)) is not None and (
                reasons := rules(value)
            ) is not None:
                self._broken(prop, None, where, value, reasons)

    def raise_if_any(self) -> None:
        lines = self.lines
        if not lines:
            return
        if len(lines) == 1:
            raise FlushValidationError(lines[0], list(self.problems))
        listed = "\n".join(f"  - {line}" for line in lines)
        raise FlushValidationError(
            f"{len(lines)} values cannot be written; nothing was sent. Fix them and try again:\n"
            f"{listed}",
            list(self.problems),
        )

    def _wrong(self, prop: PropertyMetadata, key: Any, who: str, value: Any, expected: str) -> None:
        reason = f"holds {shorten(value)}; expected {expected}"
        self.add(
            ValidationProblem(prop.entity.class_name, key, prop.name, reason),
            f"{prop.path} of {who} {reason}. Nothing was sent: assign a valid value and flush "
            f"again",
        )

    def _broken(
        self, prop: PropertyMetadata, key: Any, who: str, value: Any, reasons: list[str]
    ) -> None:
        for reason in reasons:
            self.add(
                ValidationProblem(prop.entity.class_name, key, prop.name, reason),
                f"{prop.path} of {who} is invalid: {reason}; it holds {shorten(value)}. "
                f"Nothing was sent: assign a valid value and flush again",
            )


def _key(entity: Any, meta: EntityMetadata) -> Any:
    """A managed entity's key as a problem reports it: the value, or a tuple if composite."""
    key = entity_key(entity, meta)
    if key is None:
        return None
    return key[0] if len(key) == 1 else key


def _who(entity: Any, meta: EntityMetadata) -> str:
    return f"{meta.class_name} {_key_text(entity, meta)}"


def _key_text(entity: Any, meta: EntityMetadata) -> str:
    key = entity_key(entity, meta)
    if key is None:
        return "(no key yet)"
    return f"with key {_SHORT.repr(key[0] if len(key) == 1 else key)}"
