"""The order in which tables receive INSERTs: referenced tables before referencing ones.

Cycles between tables are broken at a nullable foreign key: such a row is inserted with NULL and
fixed by an UPDATE once its target exists. A cycle made only of non-nullable keys can still be
written while the rows it needs already exist; a flush that needs to break it raises
:class:`CommitOrderError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind


@dataclass
class CommitOrder:
    order: list[EntityMetadata]
    position: dict[type, int]
    # Foreign keys cut to break a cycle: nullable ones (NULL, then UPDATE) ...
    deferred: set[int] = field(default_factory=set)
    # ... and non-nullable ones, which a flush cannot break.
    unbreakable: dict[int, list[str]] = field(default_factory=dict)

    def is_deferred(self, prop: PropertyMetadata) -> bool:
        return id(prop) in self.deferred

    def cycle_of(self, prop: PropertyMetadata) -> list[str] | None:
        return self.unbreakable.get(id(prop))


def compute_commit_order(metas: list[EntityMetadata], *, link_arrays: bool = False) -> CommitOrder:
    """The insert order of ``metas``. With ``link_arrays`` (ManyToMany links stored on the
    owner), owners of a ManyToMany also prefer to follow its target, so a new owner's links can
    be written with it; that preference gives way first when it makes a cycle."""
    edges: dict[int, list[PropertyMetadata]] = {id(m): [] for m in metas}
    preferred: dict[int, list[PropertyMetadata]] = {id(m): [] for m in metas}
    for meta in metas:
        for prop in meta.persistent:
            if prop.is_owning_to_one and prop.target is not meta:
                edges[id(meta)].append(prop)
        if link_arrays:
            preferred[id(meta)] = [
                p
                for p in meta.collections
                if p.relation is RelationKind.MANY_TO_MANY and p.owner and p.target is not meta
            ]
    result = CommitOrder(order=[], position={})
    remaining = list(metas)
    cut: set[int] = set()
    while remaining:
        ready = [
            m
            for m in remaining
            if all(
                id(p) in cut or p.target not in remaining or p.target is m
                for p in (*edges[id(m)], *preferred[id(m)])
            )
        ]
        if not ready and any(preferred[id(m)] for m in remaining):
            preferred = {key: [] for key in preferred}
            continue
        if ready:
            for meta in ready:
                result.position[meta.cls] = len(result.order)
                result.order.append(meta)
            remaining = [m for m in remaining if all(m is not r for r in ready)]
            continue
        # A cycle: cut a nullable edge if there is one, else record the cycle.
        candidates = [
            p for m in remaining for p in edges[id(m)] if id(p) not in cut and p.target in remaining
        ]
        nullable = [p for p in candidates if p.nullable]
        victim = nullable[0] if nullable else candidates[0]
        cut.add(id(victim))
        if victim.nullable:
            result.deferred.add(id(victim))
        else:
            result.unbreakable[id(victim)] = [p.path for p in candidates]
    return result
