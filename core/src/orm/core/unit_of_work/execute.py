"""Turn a :class:`FlushPlan` into the fewest statements and run them on one connection.

Nothing here touches the entities: generated keys are collected in ``keys``/``generated`` and
applied by the Unit of Work only after the transaction committed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from orm.core.driver import (
    Connection,
    DeleteBatch,
    InsertBatch,
    PivotBatch,
    Platform,
    UpdateBatch,
)
from orm.core.errors import CommitOrderError
from orm.core.keys import Key
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind
from orm.core.state import STATE_KEY, Status, meta_of
from orm.core.unit_of_work.commit_order import CommitOrder
from orm.core.unit_of_work.plan import FlushPlan
from orm.core.unit_of_work.versions import StaleBatch, next_version

T = TypeVar("T")
_UNSET: Any = object()


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), max(size, 1)):
        yield items[start : start + size]


class FlushExecutor:
    def __init__(
        self,
        plan: FlushPlan,
        connection: Connection,
        order: CommitOrder,
        platform: Platform,
        batch_size: int,
    ) -> None:
        self.plan = plan
        self.connection = connection
        self.order = order
        self.platform = platform
        self.batch_size = batch_size
        self.inserted: set[int] = set()
        self.keys: dict[int, Key] = {}
        self.generated: dict[int, dict[str, Any]] = {}
        # The version each updated versioned entity has once the flush commits (by id).
        self.versions: dict[int, Any] = {}
        self._fixups: list[tuple[Any, PropertyMetadata, Any]] = []
        # Link arrays (Platform.link_arrays): the links of new owners, written with their insert
        # when the targets' keys are known by then; the pairs written so are not sent again.
        self._new_links: dict[int, dict[str, list[Any]]] = {}
        self._embedded: set[tuple[int, int, int]] = set()
        if platform.link_arrays:
            for prop, owner, target in plan.pivot_inserts:
                links = self._new_links.setdefault(id(owner), {})
                links.setdefault(prop.name, []).append(target)

    # -- keys ------------------------------------------------------------------------------

    def key(self, entity: Any) -> Key | None:
        """The key of ``entity`` as of this point of the flush (None: not inserted yet)."""
        known = self.keys.get(id(entity))
        if known is not None:
            return known
        state = entity.__dict__[STATE_KEY]
        if state.status is Status.NEW and id(entity) not in self.inserted:
            return None
        meta = meta_of(entity)
        parts: list[Any] = []
        for prop in meta.primary_keys:
            value = entity.__dict__.get(prop.name)
            if prop.target is not None:
                inner = self.key(value) if value is not None else None
                if inner is None:
                    return None
                parts.extend(inner)
            else:
                if value is None:
                    return None
                parts.append(value)
        return tuple(parts)

    def _batch_rows(self, columns: int) -> int:
        per_statement = max(1, self.platform.max_parameters // max(columns, 1))
        return min(self.batch_size, per_statement)

    # -- the flush -------------------------------------------------------------------------

    async def run(self) -> None:
        await self._pivots(self.plan.pivot_deletes, delete=True)
        await self._inserts()
        await self._fixup_updates()
        await self._updates()
        await self._pivots(self.plan.pivot_inserts, delete=False)
        await self._deletes()

    async def _inserts(self) -> None:
        by_meta: dict[int, list[Any]] = {}
        for entity in self.plan.inserts:
            by_meta.setdefault(id(meta_of(entity)), []).append(entity)
        for meta in self.order.order:
            entities = by_meta.get(id(meta))
            if entities:
                for level in self._levels(meta, entities):
                    await self._insert_level(meta, level)

    def _levels(self, meta: EntityMetadata, entities: list[Any]) -> Iterator[list[Any]]:
        """Rows of one table in dependency order; self-references make several levels."""
        self_refs = [p for p in meta.persistent if p.is_owning_to_one and p.target is meta]
        if not self_refs:
            yield entities
            return
        pending = {id(e): e for e in entities}
        while pending:
            ready = [
                e
                for e in pending.values()
                if all(id(e.__dict__.get(p.name)) not in pending for p in self_refs)
            ]
            if not ready:
                # A cycle inside the table: rows whose self-references are nullable go first.
                ready = [e for e in pending.values() if all(p.nullable for p in self_refs)]
                if not ready:
                    paths = ", ".join(p.path for p in self_refs)
                    raise CommitOrderError(
                        f"the new {meta.class_name} entities reference each other in a cycle "
                        f"through the non-nullable {paths}; make the relation nullable or flush "
                        f"one of them first"
                    )
            for entity in ready:
                del pending[id(entity)]
            yield ready

    def _row(
        self, entity: Any, meta: EntityMetadata
    ) -> tuple[dict[str, Any], list[PropertyMetadata]]:
        d = entity.__dict__
        row: dict[str, Any] = {}
        returning: list[PropertyMetadata] = []
        for prop in meta.persistent:
            value = d.get(prop.name, _UNSET)
            if value is None or value is _UNSET:
                if prop.autoincrement or prop.server_default is not None:
                    # The database fills it in (a generated key, a server default) and reports
                    # it back: RETURNING, or one SELECT where the platform has no RETURNING.
                    returning.append(prop)
                    continue
                if value is _UNSET:
                    continue
            if prop.relation is not None and value is not None:
                key = self.key(value)
                if key is None:
                    self._defer(entity, prop, value)
                    value = None
                else:
                    value = key
            row[prop.name] = value
        if self.platform.link_arrays:
            self._embed_links(entity, meta, row)
        return row, returning

    def _embed_links(self, entity: Any, meta: EntityMetadata, row: dict[str, Any]) -> None:
        """A new owner's ManyToMany links as arrays of target keys in its own row."""
        links = self._new_links.get(id(entity), {})
        for prop in meta.collections:
            if prop.relation is not RelationKind.MANY_TO_MANY or not prop.owner:
                continue
            keys: list[Key] = []
            for target in links.get(prop.name, ()):
                key = self.key(target)
                if key is not None:
                    keys.append(key)
                    self._embedded.add((id(prop), id(entity), id(target)))
            row[prop.name] = keys

    def _defer(self, entity: Any, prop: PropertyMetadata, target: Any) -> None:
        cycle = self.order.cycle_of(prop)
        if not prop.nullable:
            detail = f" (the cycle: {', '.join(cycle)})" if cycle else ""
            raise CommitOrderError(
                f"cannot insert the new {type(entity).__name__}: {prop.path} points to a new "
                f"{type(target).__name__} that can only be inserted later, and the foreign key is "
                f"not nullable{detail}. Make one relation of the cycle nullable, or flush the "
                f"{type(target).__name__} first"
            )
        self._fixups.append((entity, prop, target))

    async def _insert_level(self, meta: EntityMetadata, entities: list[Any]) -> None:
        groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[Any, dict[str, Any]]]] = {}
        props_of: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[Any, Any]] = {}
        for entity in entities:
            row, returning = self._row(entity, meta)
            shape = (tuple(row), tuple(p.name for p in returning))
            groups.setdefault(shape, []).append((entity, row))
            props_of.setdefault(shape, (tuple(meta.properties[n] for n in row), tuple(returning)))
        for shape, members in groups.items():
            properties, returning = props_of[shape]
            size = self._batch_rows(sum(len(p.columns) for p in properties))
            for chunk in chunks(members, size):
                batch = InsertBatch(meta, properties, [row for _, row in chunk], returning)
                results = await self.connection.insert(batch)
                for (entity, row), generated in zip(
                    chunk, results or [{}] * len(chunk), strict=False
                ):
                    self.inserted.add(id(entity))
                    if returning:
                        self.generated[id(entity)] = dict(generated)
                    key = self._key_after_insert(entity, meta, row, generated)
                    self.keys[id(entity)] = key

    def _key_after_insert(
        self, entity: Any, meta: EntityMetadata, row: dict[str, Any], generated: dict[str, Any]
    ) -> Key:
        parts: list[Any] = []
        for prop in meta.primary_keys:
            if prop.name in generated:
                parts.append(generated[prop.name])
            elif prop.target is not None:
                parts.extend(row[prop.name])
            else:
                parts.append(row[prop.name])
        return tuple(parts)

    async def _fixup_updates(self) -> None:
        grouped: dict[tuple[int, str], list[tuple[Key, dict[str, Any]]]] = {}
        metas: dict[tuple[int, str], tuple[EntityMetadata, PropertyMetadata]] = {}
        for entity, prop, target in self._fixups:
            meta = meta_of(entity)
            key = self.key(entity)
            target_key = self.key(target)
            if key is None or target_key is None:
                raise CommitOrderError(
                    f"cannot resolve {prop.path}: its target was never inserted in this flush"
                )
            grouped.setdefault((id(meta), prop.name), []).append((key, {prop.name: target_key}))
            metas[(id(meta), prop.name)] = (meta, prop)
        for group, rows in grouped.items():
            meta, prop = metas[group]
            await self._update_rows(meta, (prop,), rows)

    async def _updates(self) -> None:
        grouped: dict[tuple[int, tuple[str, ...]], list[tuple[Key, dict[str, Any]]]] = {}
        metas: dict[tuple[int, tuple[str, ...]], EntityMetadata] = {}
        expected: dict[tuple[int, tuple[str, ...]], list[Any]] = {}
        for entity, changes in self.plan.updates:
            meta = meta_of(entity)
            key = self.key(entity)
            assert key is not None
            values: dict[str, Any] = {}
            version = meta.version_property
            if version is not None:
                # The check is against the version the fork loaded, whatever the entity says.
                loaded = (entity.__dict__[STATE_KEY].snapshot or {}).get(version.name)
                changes = {**changes, version.name: next_version(version, loaded)}
                self.versions[id(entity)] = changes[version.name]
            for name, value in changes.items():
                prop = meta.properties[name]
                if prop.relation is not None and value is not None:
                    target_key = self.key(value)
                    if target_key is None:
                        raise CommitOrderError(
                            f"{prop.path} of {entity!r} points to a new "
                            f"{type(value).__name__} that this flush does not insert (was it "
                            f"removed?); persist it or point the relation elsewhere"
                        )
                    value = target_key
                values[name] = value
            shape = (id(meta), tuple(sorted(changes)))
            grouped.setdefault(shape, []).append((key, values))
            metas[shape] = meta
            if version is not None:
                expected.setdefault(shape, []).append(loaded)
        for shape, rows in grouped.items():
            meta = metas[shape]
            properties = tuple(meta.properties[n] for n in shape[1])
            await self._update_rows(meta, properties, rows, expected.get(shape))

    async def _update_rows(
        self,
        meta: EntityMetadata,
        properties: tuple[PropertyMetadata, ...],
        rows: list[tuple[Key, dict[str, Any]]],
        versions: list[Any] | None = None,
    ) -> None:
        values = sum(len(p.columns) for p in properties)
        keys = len(meta.pk_columns) + (1 if versions is not None else 0)
        # The driver knows how its update statement binds a row (SQL binds each key twice).
        width = self.connection.parameters_per_update_row(values, keys)
        size = self._batch_rows(width)
        for start in range(0, len(rows), max(size, 1)):
            chunk = rows[start : start + size]
            if versions is None:
                await self.connection.update(UpdateBatch(meta, properties, chunk))
                continue
            checked = versions[start : start + size]
            written = await self.connection.update(UpdateBatch(meta, properties, chunk, checked))
            if written != len(chunk):
                raise StaleBatch(meta, list(zip((k for k, _ in chunk), checked, strict=True)))

    async def _pivots(
        self, pairs: list[tuple[PropertyMetadata, Any, Any]], *, delete: bool
    ) -> None:
        grouped: dict[int, tuple[PropertyMetadata, list[tuple[Key, Key]]]] = {}
        for prop, owner, target in pairs:
            if (id(prop), id(owner), id(target)) in self._embedded:
                continue
            owner_key, target_key = self.key(owner), self.key(target)
            assert owner_key is not None and target_key is not None
            grouped.setdefault(id(prop), (prop, []))[1].append((owner_key, target_key))
        for prop, rows in grouped.values():
            width = len(prop.pivot_owner_columns) + len(prop.pivot_target_columns)
            for chunk in chunks(rows, self._batch_rows(width)):
                await self.connection.write_pivot(PivotBatch(prop, list(chunk), delete=delete))

    async def _deletes(self) -> None:
        by_meta: dict[int, list[Key]] = {}
        versions: dict[int, list[Any]] = {}
        for entity in self.plan.removes:
            key = self.key(entity)
            assert key is not None
            meta = meta_of(entity)
            by_meta.setdefault(id(meta), []).append(key)
            if meta.version_property is not None:
                snapshot = entity.__dict__[STATE_KEY].snapshot or {}
                versions.setdefault(id(meta), []).append(snapshot.get(meta.version_property.name))
        for meta in reversed(self.order.order):
            keys = by_meta.get(id(meta))
            if not keys:
                continue
            expected = versions.get(id(meta))
            width = len(meta.pk_columns) + (1 if expected is not None else 0)
            size = max(self._batch_rows(width), 1)
            for start in range(0, len(keys), size):
                chunk = keys[start : start + size]
                if expected is None:
                    await self.connection.delete(DeleteBatch(meta, chunk))
                    continue
                checked = expected[start : start + size]
                deleted = await self.connection.delete(DeleteBatch(meta, chunk, checked))
                if deleted != len(chunk):
                    raise StaleBatch(meta, list(zip(chunk, checked, strict=True)))
