"""``em.upsert``: insert rows, or update the row that already holds the same unique values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orm.core.driver import UpsertBatch
from orm.core.errors import ValidationError
from orm.core.keys import normalize_key
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.core.unit_of_work.value_problems import ValueProblems

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager


def build_upsert(
    meta: EntityMetadata,
    items: Sequence[Mapping[str, Any]],
    on_conflict: Sequence[str] | None,
    update: Sequence[str] | None,
) -> UpsertBatch:
    if not items:
        raise ValidationError(f"upsert({meta.class_name}) needs at least one row")
    given = list(items[0])
    for item in items:
        unknown = [
            k for k in item if k not in meta.properties or not meta.properties[k].is_persistent
        ]
        if unknown:
            raise ValidationError(
                f"upsert({meta.class_name}): {', '.join(map(repr, unknown))} are not columns of "
                f"{meta.class_name}; pass scalar properties and to-one relations only"
            )
        if list(item) != given:
            raise ValidationError(
                f"upsert({meta.class_name}): every row must have the same keys ({given})"
            )
    conflict = _conflict_properties(meta, given, on_conflict)
    update_names = (
        list(update)
        if update is not None
        else [name for name in given if name not in {p.name for p in conflict}]
    )
    for name in update_names:
        if name not in given:
            raise ValidationError(
                f"upsert({meta.class_name}): update={name!r} is not among the given values"
            )
    properties = _with_defaults(meta, given)
    rows = [_row(meta, item, properties) for item in items]
    # An upsert does not go through a flush: its values are checked here, before anything is
    # sent, with the same rules (all problems in one ValidationError).
    problems = ValueProblems()
    for number, row in enumerate(rows, start=1):
        where = (
            f"upsert({meta.class_name})"
            if len(rows) == 1
            else f"upsert({meta.class_name}) row {number}"
        )
        problems.check_row(meta, row, where)
    problems.raise_if_any()
    return UpsertBatch(
        entity=meta,
        properties=tuple(properties),
        rows=rows,
        conflict=tuple(conflict),
        update=tuple(meta.properties[name] for name in update_names),
        returning=tuple(meta.persistent),
    )


def _conflict_properties(
    meta: EntityMetadata, given: list[str], on_conflict: Sequence[str] | None
) -> list[PropertyMetadata]:
    if on_conflict is not None:
        props = []
        for name in on_conflict:
            prop = meta.properties.get(name)
            if prop is None or not prop.is_persistent or name not in given:
                raise ValidationError(
                    f"upsert({meta.class_name}): on_conflict={name!r} must name a column given in "
                    f"the data"
                )
            props.append(prop)
        return props
    if all(p.name in given for p in meta.primary_keys):
        return list(meta.primary_keys)
    unique = [p for p in meta.persistent if p.unique and p.name in given]
    if len(unique) == 1:
        return unique
    raise ValidationError(
        f"upsert({meta.class_name}): cannot tell which unique column identifies the row; pass "
        f"on_conflict=[...] (the primary key or a unique property)"
    )


def _with_defaults(meta: EntityMetadata, given: list[str]) -> list[PropertyMetadata]:
    props = [meta.properties[name] for name in given]
    for prop in meta.persistent:
        if (
            prop.name not in given
            and (prop.has_default or prop.default_factory)
            and not prop.autoincrement
        ):
            props.append(prop)
    return props


def _row(
    meta: EntityMetadata, item: Mapping[str, Any], properties: list[PropertyMetadata]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for prop in properties:
        if prop.name in item:
            value = item[prop.name]
        elif prop.default_factory is not None:
            value = prop.default_factory()
        else:
            value = prop.default
        if prop.relation is not None and value is not None:
            assert prop.target is not None
            value = normalize_key(prop.target, value, where=prop.path)
        row[prop.name] = value
    return row


async def upsert_rows(em: EntityManager, batch: UpsertBatch) -> list[Any]:
    async with em.connections.write_scope(action="upsert()") as connection:
        rows = await connection.upsert(batch)
    return em.unit_of_work.apply_upserted(batch.entity, rows)
