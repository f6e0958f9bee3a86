"""An aliased table in a statement, and the to-one relations joined off it.

A filter or an order can go through several to-one relations (``{"author": {"passport":
{"country": "FR"}}}``). Every hop is a LEFT OUTER JOIN in one flat FROM clause: the clause of
the scope the path started from (its *origin*). A scope reached by joins only stands for the
joined alias; the joins that go on from it are made by the origin, keyed by the whole path, so
they land in the FROM clause the statement selects from (not in a clause nobody reads, which
would leave the alias to the database as a cross join) and each path is joined once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.metadata.model import ColumnInfo, EntityMetadata, PropertyMetadata
from orm.query_builder.links import relation_link

if TYPE_CHECKING:
    from orm.query_builder.render import SqlRenderer

Hops = tuple[PropertyMetadata, ...]


class Scope:
    """An aliased table in a statement, with the to-one joins hanging off it.

    ``join()`` adds each to-one relation a path goes through once (a LEFT OUTER JOIN, cached
    by path) to the FROM clause of ``attach_to``: the scope itself, or for a query-builder
    alias the builder's root, so every join lands in one flat FROM clause.
    """

    def __init__(
        self,
        renderer: SqlRenderer,
        meta: EntityMetadata,
        alias: sa.FromClause,
        *,
        origin: tuple[Scope, Hops] | None = None,
    ) -> None:
        self.renderer = renderer
        self.meta = meta
        self.alias = alias
        self.from_clause: sa.FromClause = alias
        self.attach_to: Scope = self
        # Set on a scope made by join(): the scope that joined it and the path it took.
        self.origin = origin
        self._joins: dict[tuple[int, ...], Scope] = {}

    def column(self, column: ColumnInfo) -> ColumnElement[Any]:
        found: ColumnElement[Any] = self.alias.c[column.name]
        return found

    def join(self, path: Sequence[PropertyMetadata]) -> Scope:
        """The scope at the end of ``path`` (to-one relations from this scope), joining each
        hop not joined yet."""
        if self.origin is not None:
            origin, hops = self.origin
            return origin.join((*hops, *path))
        scope = self
        for depth in range(1, len(path) + 1):
            hops = tuple(path[:depth])
            key = tuple(id(p) for p in hops)
            joined = self._joins.get(key)
            if joined is None:
                joined = self._join_hop(scope, hops)
                self._joins[key] = joined
            scope = joined
        return scope

    def _join_hop(self, parent: Scope, hops: Hops) -> Scope:
        """LEFT OUTER JOIN the target of the to-one relation ``hops[-1]`` of ``parent`` (the
        scope at the end of ``hops[:-1]``), under a fresh alias, onto the FROM clause of
        ``attach_to``; return the target's scope."""
        prop = hops[-1]
        target = prop.target
        assert target is not None
        alias = self.renderer.alias(target)
        joined = Scope(self.renderer, target, alias, origin=(self, hops))
        onclause = relation_link(parent, joined, prop)  # owning to-one or inverse OneToOne
        root = self.attach_to
        root.from_clause = root.from_clause.outerjoin(alias, onclause)
        return joined
