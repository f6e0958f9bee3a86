"""Relations in statements: the ON clause of a relation, the pivot table of a many-to-many
one, and reading an entity's properties from (a slice of) a row.

Shared by the renderer's filters and to-one joins, the query builder's ``join``, and the
``joined`` and ``json-aggregate`` loading strategies.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.metadata.model import PropertyMetadata, RelationKind
from orm.query_builder.values import ValueConverter

if TYPE_CHECKING:
    from orm.query_builder.scope import Scope


def relation_link(parent: Scope, child: Scope, prop: PropertyMetadata) -> ColumnElement[bool]:
    """The ON clause joining ``child`` (the target of ``prop``) to ``parent``."""
    target = prop.target
    assert target is not None
    if prop.is_owning_to_one:
        pairs = zip(prop.columns, target.pk_columns, strict=True)
        return sa.and_(*(parent.column(fk) == child.column(pk) for fk, pk in pairs))
    if prop.relation is RelationKind.ONE_TO_ONE:
        owning = prop.inverse
        assert owning is not None
        pairs = zip(owning.columns, parent.meta.pk_columns, strict=True)
        return sa.and_(*(child.column(fk) == parent.column(pk) for fk, pk in pairs))
    fk = target.properties[prop.mapped_by or ""]
    pairs = zip(fk.columns, parent.meta.pk_columns, strict=True)
    return sa.and_(*(child.column(f) == parent.column(pk) for f, pk in pairs))


def pivot_links(
    pivot: sa.FromClause, prop: PropertyMetadata, owner: Scope, target: Scope
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The conditions tying ``pivot`` (an alias of the pivot table of the many-to-many
    relation ``prop``) to ``owner`` (an entity of ``prop``'s side) and to ``target``."""
    _, mine, theirs = pivot_columns(prop)
    return pivot_match(pivot, mine, owner), pivot_match(pivot, theirs, target)


def pivot_match(pivot: sa.FromClause, names: Sequence[str], scope: Scope) -> ColumnElement[bool]:
    """``pivot``'s columns ``names`` equal the primary key of ``scope``'s entity."""
    pairs = zip(names, scope.meta.pk_columns, strict=True)
    return sa.and_(*(pivot.c[name] == scope.column(pk) for name, pk in pairs))


def pivot_columns(prop: PropertyMetadata) -> tuple[str, list[str], list[str]]:
    """A many-to-many relation's pivot table, its columns holding the keys of ``prop``'s own
    entity, and those holding the keys of its target (either side may own the relation)."""
    owning = prop if prop.owner else prop.inverse
    assert owning is not None and owning.pivot_table is not None
    if prop.owner:
        return owning.pivot_table, owning.pivot_owner_columns, owning.pivot_target_columns
    return owning.pivot_table, owning.pivot_target_columns, owning.pivot_owner_columns


def properties_reader(
    readers: Sequence[tuple[PropertyMetadata, int, int]], values: ValueConverter
) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """A function reading ``{property: value}`` from a row (or a slice of one): each property
    reads ``row[start:end]``; a relation's key is a tuple, or None when every part is NULL.
    The per-column conversions are looked up once, here, not per row."""
    scalars: list[tuple[str, int, Callable[[Any], Any] | None]] = []
    relations: list[tuple[str, int, int, list[Callable[[Any], Any] | None]]] = []
    for prop, start, end in readers:
        if prop.relation is None:
            scalars.append((prop.name, start, values.from_db_function(prop.columns[0])))
        else:
            functions = [values.from_db_function(c) for c in prop.columns]
            relations.append((prop.name, start, end, functions))

    def read(row: Sequence[Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, index, function in scalars:
            value = row[index]
            result[name] = value if function is None or value is None else function(value)
        for name, start, end, functions in relations:
            parts = row[start:end]
            if all(part is None for part in parts):
                result[name] = None
            else:
                result[name] = tuple(
                    part if f is None or part is None else f(part)
                    for f, part in zip(functions, parts, strict=True)
                )
        return result

    return read


Slices = list[tuple[PropertyMetadata, int, int]]


def select_properties(
    scope: Scope,
    properties: Sequence[PropertyMetadata],
    columns: list[ColumnElement[Any]],
    *,
    label: str | None = None,
) -> Slices:
    """Append the columns of ``properties`` (of ``scope``'s entity) to ``columns``, labelled
    ``<label>__<column>`` if ``label`` is given; return ``(property, first, end)``: where each
    property's columns sit in a result row."""
    slices: Slices = []
    for prop in properties:
        first = len(columns)
        for column in prop.columns:
            element = scope.column(column)
            columns.append(element if label is None else element.label(f"{label}__{column.name}"))
        slices.append((prop, first, len(columns)))
    return slices


@dataclass(frozen=True)
class EntitySlice:
    """How to read one entity's columns out of a (joined) row."""

    # The raw key values (None when they are all NULL: no row on this side of a LEFT JOIN);
    # cheap, so rows already seen are recognised without reading their other columns.
    key: Callable[[Sequence[Any]], Hashable | None]
    read: Callable[[Sequence[Any]], dict[str, Any]]

    def read_present(self, row: Sequence[Any]) -> dict[str, Any] | None:
        """The entity's properties, or None when the row has none (a LEFT JOIN missed)."""
        return None if self.key(row) is None else self.read(row)


def entity_slice(slices: Slices, values: ValueConverter) -> EntitySlice:
    """The reader of the entity whose properties ``slices`` places (see select_properties)."""
    positions = [i for prop, first, end in slices if prop.primary for i in range(first, end)]
    get = operator.itemgetter(*positions)  # one value for one column, else a tuple

    def key(row: Sequence[Any]) -> Hashable | None:
        found = get(row)
        if len(positions) == 1:
            return found  # type: ignore[no-any-return]
        return None if all(part is None for part in found) else found

    return EntitySlice(key, properties_reader(slices, values))
