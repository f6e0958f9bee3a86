"""What ``to_dict`` and ``em.serialize`` are asked for, checked against the metadata.

A shape hint (``{"books": {"tags": True}}`` or ``["books.tags"]``) and the ``exclude`` paths
become one :class:`SerializationPlan` per entity class: the relations to serialize in full at
this level (each with the plan of its target) and the properties to leave out. Every name is
checked here, so a typo fails with a message naming the entity, not with a silently smaller
output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from orm.core.errors import ValidationError
from orm.core.loading.populate import populated_relation
from orm.core.metadata.model import EntityMetadata
from orm.core.query.limits import check_hops

# A shape hint: relation paths (``["books.tags", "profile"]``) or a nested dict whose leaves
# are True (``{"books": {"tags": True}}``); a dict value may also be a list of paths below it.
ShapeValue: TypeAlias = bool | Mapping[str, "ShapeValue"] | Sequence[str]
ShapeHint: TypeAlias = Mapping[str, ShapeValue] | Sequence[str]

# A parsed hint or exclude list: property name -> what is asked below it.
Tree = dict[str, "Tree"]

_EXAMPLE = "{'books': {'tags': True}} or ['books.tags']"


@dataclass(frozen=True)
class SerializationPlan:
    """What to write for one entity class at one level of the output."""

    meta: EntityMetadata
    populate: Mapping[str, SerializationPlan] = field(default_factory=dict)
    exclude: frozenset[str] = frozenset()


def shape_tree(hint: Any, *, option: str) -> Tree:
    """A shape hint (dict or list of dotted paths) as a nested dict of names."""
    tree: Tree = {}
    _add_hint(tree, hint, option, "")
    return tree


def shape_paths(tree: Tree, prefix: str = "") -> list[str]:
    """The dotted leaf paths of a tree: ``{"books": {"tags": {}}}`` -> ``["books.tags"]``."""
    paths: list[str] = []
    for name, below in tree.items():
        path = f"{prefix}{name}"
        paths.extend(shape_paths(below, f"{path}.") if below else [path])
    return paths


def _add_hint(tree: Tree, hint: Any, option: str, at: str) -> None:
    where = f"{option}[{at!r}]" if at else option
    if isinstance(hint, Mapping):
        for name, value in hint.items():
            if not isinstance(name, str) or not name:
                raise ValidationError(f"{where} takes relation names as keys, got {name!r}")
            if value is False or value is None:
                continue  # {"books": include_books}: a switch, not an error
            below = tree.setdefault(name, {})
            if value is not True:
                _add_hint(below, value, option, f"{at}.{name}" if at else name)
        return
    if isinstance(hint, str) or not isinstance(hint, Sequence):
        raise ValidationError(
            f"{where} takes a dict of relation names or a list of dotted paths, e.g. "
            f"{_EXAMPLE}; got {hint!r}"
        )
    for path in hint:
        if not isinstance(path, str) or not path or "" in path.split("."):
            raise ValidationError(
                f"{where} takes dotted relation paths such as 'books.tags'; got {path!r}"
            )
        node = tree
        for name in path.split("."):
            node = node.setdefault(name, {})


def build_plan(meta: EntityMetadata, populate: Any, exclude: Any) -> SerializationPlan:
    """The checked plan of ``to_dict(entity_of_meta, populate=..., exclude=...)``."""
    populate_tree = shape_tree(populate, option="populate")
    exclude_tree = shape_tree(exclude, option="exclude")
    _check_exclude(meta, exclude_tree, "")
    return _plan(meta, populate_tree, exclude_tree, "")


def _plan(meta: EntityMetadata, wanted: Tree, excluded: Tree, prefix: str) -> SerializationPlan:
    _check_output_keys(meta)
    populate: dict[str, SerializationPlan] = {}
    for name, below in wanted.items():
        path = f"{prefix}{name}"
        check_hops(path.count(".") + 1, f"populate={path!r}", "a populate path")
        prop, target = populated_relation(meta, name, path)
        if prop.hidden:
            raise ValidationError(
                f"populate={path!r}: {prop.path} is hidden (hidden=True) and never serialized; "
                f"take it out of populate, or drop hidden=True from the relation"
            )
        if excluded.get(name) == {}:
            continue  # excluded as a whole: exclude wins over populate
        populate[name] = _plan(target, below, excluded.get(name, {}), f"{path}.")
    dropped = frozenset(name for name, below in excluded.items() if not below)
    return SerializationPlan(meta, populate, dropped)


def _check_exclude(meta: EntityMetadata, excluded: Tree, prefix: str) -> None:
    for name, below in excluded.items():
        path = f"{prefix}{name}"
        prop = meta.properties.get(name)
        if prop is None:
            raise ValidationError(
                f"exclude={path!r}: {meta.class_name} has no property {name!r}; exclude takes "
                f"property names or paths through relations such as 'books.title'"
            )
        if below:
            if prop.target is None:
                raise ValidationError(
                    f"exclude={path!r}: {prop.path} is not a relation, so nothing is below it; "
                    f"exclude {name!r} itself or a path through a relation"
                )
            _check_exclude(prop.target, below, f"{path}.")


def _check_output_keys(meta: EntityMetadata) -> None:
    """Two properties written under one key would silently lose one of the values."""
    owners: dict[str, str] = {}
    for prop in meta.properties.values():
        if prop.hidden:
            continue
        key = prop.serialized_name or prop.name
        other = owners.setdefault(key, prop.name)
        if other != prop.name:
            raise ValidationError(
                f"{meta.class_name}.{other} and {meta.class_name}.{prop.name} would both be "
                f"serialized as {key!r}; give one of them another serialized_name"
            )
