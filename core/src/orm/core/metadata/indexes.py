"""Table-level indexes and unique constraints: ``@entity(indexes=[...], uniques=[...])``.

``Index`` and ``Unique`` name properties (a ManyToOne stands for its foreign-key columns);
discovery resolves them to column names and default names, and checks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from orm.core.errors import MetadataError
from orm.core.metadata.model import EntityMetadata, IndexMetadata, RelationKind
from orm.core.metadata.naming import MAX_NAME_LENGTH, NamingStrategy


@dataclass(frozen=True, init=False, repr=False)
class _TableIndex:
    """What ``Index`` and ``Unique`` share: property names and an optional name."""

    properties: tuple[str, ...]
    name: str | None

    def __init__(self, *properties: str, name: str | None = None) -> None:
        object.__setattr__(self, "properties", properties)
        object.__setattr__(self, "name", name)

    def __repr__(self) -> str:
        arguments = [repr(p) for p in self.properties]
        if self.name is not None:
            arguments.append(f"name={self.name!r}")
        return f"{type(self).__name__}({', '.join(arguments)})"


class Index(_TableIndex):
    """An index over one or more properties, in order: ``Index("last_name", "first_name")``.

    ``name`` overrides the naming strategy's ``ix_<table>_<columns>``.
    """


class Unique(_TableIndex):
    """A unique constraint over one or more properties: ``Unique("author", "title")``.

    ``name`` overrides the naming strategy's ``uq_<table>_<columns>``.
    """


def resolve_table_indexes(
    meta: EntityMetadata, indexes: Any, uniques: Any, naming: NamingStrategy
) -> None:
    """Fill ``meta.indexes`` and ``meta.uniques`` from ``@entity(indexes=, uniques=)``.

    Runs once the columns of every property (relations included) are known.
    """
    declared: list[tuple[str, type[_TableIndex], Any]] = [
        ("indexes", Index, indexes),
        ("uniques", Unique, uniques),
    ]
    taken = _property_indexes(meta)
    for option, kind, value in declared:
        resolved = []
        for declaration in _declarations(meta, option, kind, value):
            found = _resolve(meta, declaration, naming)
            key = (found.unique, found.columns)
            if key in taken:
                raise MetadataError(f"{meta.class_name}: {declaration!r} duplicates {taken[key]}")
            taken[key] = f"{declaration!r}; remove one of them"
            resolved.append(found)
        if kind is Index:
            meta.indexes = resolved
        else:
            meta.uniques = resolved


def check_index_names(metas: Iterable[EntityMetadata]) -> None:
    """Index and constraint names are unique per schema (PostgreSQL): no name twice."""
    seen: dict[str, tuple[str, str]] = {}
    for meta in metas:
        for found in [*meta.indexes, *meta.uniques]:
            shown = _shown(found)
            if found.name in seen:
                owner, other = seen[found.name]
                other = other if owner == meta.class_name else f"{owner}'s {other}"
                raise MetadataError(
                    f"{meta.class_name}: {shown} and {other} are both named {found.name!r}; "
                    f"index and constraint names must be unique in the database, so give one of "
                    f"them another name="
                )
            seen[found.name] = (meta.class_name, shown)


def _shown(found: IndexMetadata) -> str:
    kind = "Unique" if found.unique else "Index"
    return f"{kind}({', '.join(repr(p) for p in found.properties)})"


def _declarations(
    meta: EntityMetadata, option: str, kind: type[_TableIndex], value: Any
) -> list[_TableIndex]:
    if value is None:
        return []
    other = Unique if kind is Index else Index
    other_option = "uniques" if option == "indexes" else "indexes"
    if isinstance(value, (str, _TableIndex)) or not isinstance(value, Sequence):
        raise MetadataError(
            f"{meta.class_name}: @entity({option}=...) takes a list of {kind.__name__}(...), "
            f"not {value!r}; write {option}=[{kind.__name__}('a', 'b')]"
        )
    for item in value:
        if isinstance(item, other):
            raise MetadataError(
                f"{meta.class_name}: {item!r} is listed in {option}=; move it to "
                f"{other_option}=[...]"
            )
        if not isinstance(item, kind):
            article = "an" if kind is Index else "a"
            raise MetadataError(
                f"{meta.class_name}: {option}= holds {item!r}, which is not {article} "
                f"{kind.__name__}(...); write {option}=[{kind.__name__}('a', 'b')]"
            )
    return list(value)


def _resolve(
    meta: EntityMetadata, declaration: _TableIndex, naming: NamingStrategy
) -> IndexMetadata:
    unique = isinstance(declaration, Unique)
    if not declaration.properties:
        raise MetadataError(
            f"{meta.class_name}: {declaration!r} names no property; list the properties it "
            f"covers, e.g. {type(declaration).__name__}('last_name', 'first_name')"
        )
    columns: list[str] = []
    seen: set[str] = set()
    for name in declaration.properties:
        if not isinstance(name, str):
            raise MetadataError(
                f"{meta.class_name}: {declaration!r} names {name!r}; name properties by their "
                f"names, as strings"
            )
        if name in seen:
            raise MetadataError(
                f"{meta.class_name}.{name} is named twice in {declaration!r}; list each "
                f"property once"
            )
        seen.add(name)
        columns += _columns(meta, declaration, name)
    explicit = declaration.name
    if explicit is not None and (not isinstance(explicit, str) or not explicit):
        raise MetadataError(
            f"{meta.class_name}: {declaration!r}: name= must be a non-empty string; leave it "
            f"out for the naming strategy's name"
        )
    if explicit is not None and len(explicit) > MAX_NAME_LENGTH:
        raise MetadataError(
            f"{meta.class_name}: the name of {declaration!r} has {len(explicit)} characters; "
            f"keep it within {MAX_NAME_LENGTH} (PostgreSQL's limit), or leave name= out"
        )
    if explicit is not None:
        name = explicit
    elif unique:
        name = naming.unique_constraint_name(meta.table, columns)
    else:
        name = naming.index_name(meta.table, columns)
    return IndexMetadata(name, tuple(columns), declaration.properties, unique)


def _columns(meta: EntityMetadata, declaration: _TableIndex, name: str) -> list[str]:
    prop = meta.properties.get(name)
    if prop is None:
        owner = next((p for p in meta.persistent if name in [c.name for c in p.columns]), None)
        hint = (
            f"{name!r} is the column of {owner.path}; name the property, {owner.name!r}"
            if owner is not None
            else f"its properties are {', '.join(p.name for p in meta.persistent)}"
        )
        raise MetadataError(
            f"{meta.class_name}.{name}: {declaration!r} names {name!r}, which is not a property "
            f"of {meta.class_name}; {hint}"
        )
    if prop.is_collection:
        assert prop.relation is not None
        raise MetadataError(
            f"{prop.path}: {declaration!r} names a {prop.relation.value} collection, which has "
            f"no column in table {meta.table}; index the foreign key on the other side instead"
        )
    if not prop.is_persistent:
        raise MetadataError(
            f"{prop.path}: {declaration!r} names the inverse side of a OneToOne, which has no "
            f"column in table {meta.table}; its foreign key (already unique) is on the owning side"
        )
    return [column.name for column in prop.columns]


def _property_indexes(meta: EntityMetadata) -> dict[tuple[bool, tuple[str, ...]], str]:
    """What the properties themselves create, by (unique, columns): the end of the message
    that reports a declaration duplicating one of them."""
    found: dict[tuple[bool, tuple[str, ...]], str] = {}
    for prop in meta.persistent:
        columns = tuple(column.name for column in prop.columns)
        if prop.is_owning_to_one:
            if prop.relation is RelationKind.ONE_TO_ONE:
                found[(True, columns)] = (
                    f"the unique foreign key of the OneToOne {prop.path}; remove the Unique"
                )
            elif prop.index and not prop.primary:
                found[(False, columns)] = (
                    f"the index of the ManyToOne {prop.path}; pass index=False to that ManyToOne "
                    f"to declare the index here (e.g. to name it), or remove the Index"
                )
        elif prop.unique:
            found[(True, columns)] = f"Property(unique=True) of {prop.path}; remove one of them"
        elif prop.index:
            found[(False, columns)] = f"Property(index=True) of {prop.path}; remove one of them"
    return found
