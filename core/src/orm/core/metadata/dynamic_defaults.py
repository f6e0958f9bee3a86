"""Dynamic defaults: ``@default("slug", depends_on=["title"])`` on an entity method.

The method computes a property's value when a new entity is flushed with that property unset
or None (docs/defaults.md). Discovery checks the declarations and orders them so a default
that reads another defaulted property runs after it; the flush runs them
(:mod:`orm.core.unit_of_work.defaults`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from orm.core.errors import MetadataError

if TYPE_CHECKING:
    from orm.core.metadata.model import EntityMetadata

F = TypeVar("F", bound=Callable[..., Any])

# The attribute @default puts on the function: (property name, names it depends on).
MARK = "__orm_default__"


@dataclass(frozen=True)
class DynamicDefault:
    """One checked ``@default``: the property it fills, what it reads, and the method."""

    name: str
    depends_on: tuple[str, ...]
    method: Callable[[Any], Any]
    method_name: str
    is_async: bool


def default(name: str, *, depends_on: Sequence[str] = ()) -> Callable[[F], F]:
    """Compute property ``name`` of a new entity at flush, when it is unset or None.

    The decorated method takes only ``self`` and returns the value (it may be ``async``).
    ``depends_on`` names the properties it reads: defaults of those run first. The method stays
    callable as written.
    """
    if not isinstance(name, str) or not name:
        raise MetadataError(f"@default takes the name of a property, got {name!r}")
    if isinstance(depends_on, str):
        raise MetadataError(
            f"@default({name!r}): depends_on takes a list of property names, e.g. "
            f"depends_on=[{depends_on!r}], not a str"
        )
    needs = tuple(depends_on)

    def mark(method: F) -> F:
        setattr(method, MARK, (name, needs))
        return method

    return mark


def _mark_of(value: Any) -> tuple[str, tuple[str, ...]] | None:
    function = value.__func__ if isinstance(value, staticmethod | classmethod) else value
    mark: tuple[str, tuple[str, ...]] | None = getattr(function, MARK, None)
    return mark if mark is not None else getattr(value, MARK, None)


def _marked_methods(cls: type[Any]) -> dict[str, tuple[Any, tuple[str, tuple[str, ...]]]]:
    """The @default methods of ``cls`` and its bases with their marks, by method name (a
    subclass's attribute of the same name replaces the base's)."""
    found: dict[str, tuple[Any, tuple[str, tuple[str, ...]]]] = {}
    for klass in reversed(cls.__mro__):
        for attribute_name, value in vars(klass).items():
            mark = _mark_of(value)
            if mark is not None:
                found[attribute_name] = (value, mark)
            else:
                found.pop(attribute_name, None)
    return found


def dynamic_default_names(cls: type[Any]) -> set[str]:
    """The properties ``cls`` computes with @default: the constructor does not require them."""
    return {name for _, (name, _) in _marked_methods(cls).values()}


def resolve_dynamic_defaults(meta: EntityMetadata) -> tuple[DynamicDefault, ...]:
    """The checked @default declarations of an entity, in the order the flush runs them."""
    declared: dict[str, DynamicDefault] = {}
    for method_name, (method, (name, depends_on)) in _marked_methods(meta.cls).items():
        where = f"{meta.class_name}.{method_name}"
        if not inspect.isfunction(method):
            raise MetadataError(
                f"@default({name!r}) on {where}: decorate a plain method taking only self, "
                f"not a static or class method"
            )
        _check_target(meta, name, where)
        for needed in depends_on:
            if needed not in meta.properties:
                raise MetadataError(
                    f"@default({name!r}) on {where} depends on {meta.class_name}.{needed}, "
                    f"which does not exist; depends_on names properties of {meta.class_name}: "
                    f"{', '.join(meta.properties)}"
                )
        parameters = list(inspect.signature(method).parameters.values())[1:]
        if parameters:
            raise MetadataError(
                f"@default({name!r}) on {where}: the method takes {len(parameters)} parameter(s) "
                f"besides self; a default takes only self and returns the value"
            )
        if name in declared:
            raise MetadataError(
                f"{meta.class_name}.{name} has two @default methods ({declared[name].method_name} "
                f"and {method_name}); keep one"
            )
        declared[name] = DynamicDefault(
            name, depends_on, method, method_name, inspect.iscoroutinefunction(method)
        )
    return _in_dependency_order(meta, declared)


def _check_target(meta: EntityMetadata, name: str, where: str) -> None:
    prop = meta.properties.get(name)
    if prop is None:
        raise MetadataError(
            f"@default({name!r}) on {where}: {meta.class_name} has no property {name!r}; name "
            f"one of {', '.join(meta.properties)}"
        )
    if prop.is_collection:
        raise MetadataError(
            f"@default({name!r}) on {where}: {meta.class_name}.{name} is a collection, which "
            f"has no value to default (a new entity's collection starts empty); add to it in "
            f"a before_create hook instead"
        )


def _in_dependency_order(
    meta: EntityMetadata, declared: dict[str, DynamicDefault]
) -> tuple[DynamicDefault, ...]:
    """Defaults sorted so each runs after the defaults of the properties it depends on."""
    ordered: list[DynamicDefault] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = [*visiting[visiting.index(name) :], name]
            path = " -> ".join(f"{meta.class_name}.{n}" for n in cycle)
            raise MetadataError(
                f"the @default methods of {meta.class_name} depend on each other in a cycle "
                f"({path}); remove one of these names from depends_on"
            )
        visiting.append(name)
        for needed in declared[name].depends_on:
            if needed in declared:
                visit(needed)
        visiting.pop()
        done.add(name)
        ordered.append(declared[name])

    for name in declared:
        visit(name)
    return tuple(ordered)
