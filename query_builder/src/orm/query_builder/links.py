"""Pieces shared by the statements that join related entities: the ON clause of a relation,
and reading one entity's slice of a joined row (the query builder's ``join_and_select`` and
the ``joined`` loading strategy)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.metadata.model import PropertyMetadata, RelationKind
from orm.query_builder.render import _Scope, properties_reader
from orm.query_builder.values import ValueConverter


def relation_link(parent: _Scope, child: _Scope, prop: PropertyMetadata) -> ColumnElement[bool]:
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


def entity_reader(
    readers: list[tuple[PropertyMetadata, int, int]],
    key_ranges: list[tuple[int, int]],
    start: int,
    end: int,
    values: ValueConverter,
) -> Callable[[Sequence[Any]], dict[str, Any] | None]:
    """Reads one entity's columns ``row[start:end]``: None when its key columns are all NULL
    (no row on this side of a LEFT JOIN)."""
    read_properties = properties_reader(readers, values)
    key_positions = [i for first, last in key_ranges for i in range(first, last)]

    def read(row: Sequence[Any]) -> dict[str, Any] | None:
        own = row[start:end]
        if all(own[i] is None for i in key_positions):
            return None  # no row on this side of a LEFT JOIN
        return read_properties(own)

    return read
