"""Check the values a flush or an upsert is about to write, and report every problem at once.

Planning a flush runs :meth:`ValueProblems.check_new` over each new entity and
:meth:`ValueProblems.check_changes` over the changed values of each dirty one; the problems are
collected, and :meth:`ValueProblems.raise_if_any` raises one :class:`ValidationError` listing all
of them before any statement is sent, so the EntityManager is left as it was.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Mapping
from typing import Any

from orm.core.errors import ValidationError
from orm.core.keys import entity_key
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.core.state import meta_of
from orm.core.unit_of_work.fast_checks import compile_all_fit
from orm.core.unit_of_work.value_checks import ValueCheck, compile_check

# (property name, its check, whether a new row needs a value, the property)
PropertyCheck = tuple[str, ValueCheck, bool, PropertyMetadata]

_SHORT = reprlib.Repr()
_SHORT.maxstring = 40
_SHORT.maxother = 40
_SHORT.maxlong = 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4
_SHORT.maxlevel = 2


class CompiledChecks:
    """The checks of one entity class: in property order, and by property name."""

    __slots__ = ("all_fit", "by_name", "ordered")

    def __init__(self, meta: EntityMetadata) -> None:
        self.ordered: tuple[PropertyCheck, ...] = tuple(
            (
                prop.name,
                compile_check(prop),
                not (prop.nullable or prop.autoincrement or prop.server_default is not None),
                prop,
            )
            for prop in meta.persistent
        )
        self.by_name: dict[str, ValueCheck] = {name: check for name, check, _, _ in self.ordered}
        self.all_fit = compile_all_fit(
            [(prop, check, needed) for _, check, needed, prop in self.ordered]
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

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def check_inserts(self, entities: Iterable[Any]) -> None:
        """:meth:`check_new` for many new entities: the generated fast path of each class first,
        the per-property checks only for an entity it does not pass."""
        last: type[Any] | None = None
        meta: Any = None
        all_fit: Any = None
        for entity in entities:
            if type(entity) is not last:
                last = type(entity)
                meta = meta_of(entity)
                all_fit = compiled_checks(meta).all_fit
            if not all_fit(entity.__dict__):
                self.check_new(entity, meta)

    def check_new(self, entity: Any, meta: EntityMetadata) -> None:
        """Every persistent value of a new entity; a missing required one too."""
        d = entity.__dict__
        checks = meta.value_checks or compiled_checks(meta)
        if checks.all_fit(d):
            return
        for name, check, required, prop in checks.ordered:
            value = d.get(name)
            if value is None:
                if required:
                    self.lines.append(
                        f"{prop.path} is required but the new {meta.class_name} has no value for "
                        f"it; set it (or declare it `| None`, or give it a default) before flushing"
                    )
                continue
            expected = check(value)
            if expected is not None:
                self._wrong(prop, f"the new {meta.class_name}", value, expected)

    def check_changes(self, entity: Any, meta: EntityMetadata, changes: Mapping[str, Any]) -> None:
        """The changed values of a managed entity (``{name: new value}``)."""
        properties = meta.properties
        checks = compiled_checks(meta).by_name
        for name, value in changes.items():
            prop = properties[name]
            if prop.primary:
                self.lines.append(
                    f"{prop.path} is a primary key and cannot change once the {meta.class_name} "
                    f"is stored; create a new entity instead"
                )
            elif value is None:
                if not prop.nullable:
                    self.lines.append(
                        f"{prop.path} cannot be set to None on {meta.class_name} "
                        f"{_key_text(entity, meta)}: the column is NOT NULL. Assign a value, or "
                        f"remove the entity instead"
                    )
            else:
                expected = checks[name](value)
                if expected is not None:
                    self._wrong(
                        prop, f"{meta.class_name} {_key_text(entity, meta)}", value, expected
                    )

    def check_row(self, meta: EntityMetadata, row: Mapping[str, Any], where: str) -> None:
        """The scalar values of one upsert row (relations were already turned into keys)."""
        checks = compiled_checks(meta).by_name
        for name, value in row.items():
            prop = meta.properties[name]
            if prop.relation is not None:
                continue
            if value is None:
                if not prop.nullable and not prop.autoincrement:
                    self.lines.append(
                        f"{where}: {prop.path} cannot be None: the column is NOT NULL; give it a "
                        f"value"
                    )
                continue
            expected = checks[name](value)
            if expected is not None:
                self._wrong(prop, where, value, expected)

    def raise_if_any(self) -> None:
        lines = self.lines
        if not lines:
            return
        if len(lines) == 1:
            raise ValidationError(lines[0])
        listed = "\n".join(f"  - {line}" for line in lines)
        raise ValidationError(
            f"{len(lines)} values cannot be written; nothing was sent. Fix them and try again:\n"
            f"{listed}"
        )

    def _wrong(self, prop: PropertyMetadata, who: str, value: Any, expected: str) -> None:
        self.lines.append(
            f"{prop.path} of {who} holds {shorten(value)}; expected {expected}. Nothing was "
            f"sent: assign a valid value and flush again"
        )


def _key_text(entity: Any, meta: EntityMetadata) -> str:
    key = entity_key(entity, meta)
    if key is None:
        return "(no key yet)"
    return f"with key {_SHORT.repr(key[0] if len(key) == 1 else key)}"
