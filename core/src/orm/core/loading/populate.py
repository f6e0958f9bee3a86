"""``populate=[...]`` with ``populate_where``/``populate_order_by`` and ``strategy``, parsed
into :class:`~orm.core.query.ast.PopulateNode` trees the loaders and drivers read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.core.query.ast import Condition, LoadStrategy, OrderItem, PopulateNode
from orm.core.query.filter import parse_filter, parse_order_by
from orm.core.query.limits import check_hops
from orm.core.query.options import name_list

if TYPE_CHECKING:
    from orm.core.driver import Platform

StrategyName = LoadStrategy | str


@dataclass(frozen=True)
class PopulatePlan:
    """What one query populates, and how."""

    strategy: LoadStrategy
    nodes: tuple[PopulateNode, ...]


def parse_strategy(strategy: StrategyName | None, default: LoadStrategy) -> LoadStrategy:
    if strategy is None:
        return default
    if isinstance(strategy, LoadStrategy):
        return strategy
    for known in LoadStrategy:
        if strategy == known.value:
            return known
    names = ", ".join(repr(s.value) for s in LoadStrategy)
    raise ValidationError(f"strategy={strategy!r} is not a loading strategy; use one of {names}")


_CAPABILITIES = {
    LoadStrategy.SELECT_IN: None,
    LoadStrategy.JOINED: "joined_loading",
    LoadStrategy.JSON_AGGREGATE: "json_aggregate_loading",
}


def strategy_unavailable(strategy: LoadStrategy, platform: Platform) -> str | None:
    """Why ``strategy`` cannot load on ``platform`` and what to use instead; None if it can."""
    capability = _CAPABILITIES[strategy]
    if capability is None or platform.supports(capability):
        return None
    usable = [s.value for s, c in _CAPABILITIES.items() if c is None or platform.supports(c)]
    return (
        f"the {strategy.value!r} loading strategy is not available on {platform.name}; use "
        f"{' or '.join(repr(u) for u in usable)}"
    )


def populated_relation(
    meta: EntityMetadata, name: str, path: str
) -> tuple[PropertyMetadata, EntityMetadata]:
    """The relation ``name`` of ``meta`` that the populate path ``path`` walks through, and its
    target; a ValidationError when it is not a relation of ``meta``."""
    prop = meta.properties.get(name)
    if prop is None or prop.target is None:
        what = "no property" if prop is None else "a property that is not a relation"
        raise ValidationError(
            f"populate={path!r}: {meta.class_name} has {what} {name!r}; populate takes "
            f"relation paths such as 'books' or 'books.tags'"
        )
    return prop, prop.target


def parse_populate(
    meta: EntityMetadata,
    paths: Sequence[str],
    *,
    where: Mapping[str, Any] | None = None,
    order_by: Mapping[str, Any] | None = None,
) -> tuple[PopulateNode, ...]:
    """``["books.reviews", "profile"]`` into a tree, validated against the metadata.

    ``where`` and ``order_by`` are keyed by populated collection paths:
    ``populate_where={"books": {"published": True}}`` loads only the published books into
    each ``author.books``; ``populate_order_by={"books.reviews": {"stars": "desc"}}`` orders
    each book's reviews.
    """
    tree: dict[str, Any] = {}
    targets: dict[str, PropertyMetadata] = {}
    for path in name_list("populate", paths, what="paths", example="'books'"):
        names = path.split(".")
        check_hops(len(names), f"populate={path!r}", "a populate path")
        node, current, walked = tree, meta, []
        for name in names:
            prop, target = populated_relation(current, name, path)
            walked.append(name)
            targets[".".join(walked)] = prop
            node = node.setdefault(name, {})
            current = target
    filters = _per_path("populate_where", where, targets)
    orders = _per_path("populate_order_by", order_by, targets)
    return _nodes(meta, tree, "", filters, orders)


def _per_path(
    option: str, values: Mapping[str, Any] | None, targets: Mapping[str, PropertyMetadata]
) -> dict[str, Any]:
    if not values:
        return {}
    if not isinstance(values, Mapping):
        raise ValidationError(
            f"{option} takes a dict keyed by populated collection paths, e.g. "
            f"{{'books': {{...}}}}, got {values!r}"
        )
    for path in values:
        prop = targets.get(path)
        if prop is None:
            listed = ", ".join(repr(p) for p in targets) or "nothing"
            raise ValidationError(
                f"{option}[{path!r}]: {path!r} is not populated by this query (it populates "
                f"{listed}); add it to populate=[...]"
            )
        if not prop.is_collection:
            raise ValidationError(
                f"{option}[{path!r}]: {prop.path} is a to-one relation; {option} applies to "
                f"collections. Filter or order the root query through it instead, e.g. "
                f"where={{{prop.name!r}: {{...}}}}"
            )
    return dict(values)


def _nodes(
    meta: EntityMetadata,
    tree: Mapping[str, Any],
    prefix: str,
    filters: Mapping[str, Any],
    orders: Mapping[str, Any],
) -> tuple[PopulateNode, ...]:
    nodes = []
    for name, subtree in tree.items():
        prop = meta.properties[name]
        target = prop.target
        assert target is not None
        path = f"{prefix}{name}"
        children = _nodes(target, subtree, f"{path}.", filters, orders)
        where: Condition | None = None
        order: tuple[OrderItem, ...] = ()
        custom = path in filters or path in orders
        if prop.is_collection:
            where = parse_filter(target, filters[path]) if path in filters else None
            order = parse_order_by(target, orders[path]) if path in orders else ()
            order = order or default_collection_order(prop)
        nodes.append(PopulateNode(prop, children, where, order, custom))
    return tuple(nodes)


def default_collection_order(prop: PropertyMetadata) -> tuple[OrderItem, ...]:
    """The relation's declared ``order_by``, else the target's primary key."""
    target = prop.target
    assert target is not None
    if prop.order_by:
        return parse_order_by(target, prop.order_by)
    return parse_order_by(
        target, {p.name: "asc" for p in target.primary_keys if p.relation is None}
    )


def load_signature(node: PopulateNode) -> tuple[Condition | None, tuple[OrderItem, ...]] | None:
    """What a collection loaded through ``node`` holds: None for every item in the default
    order; otherwise its filter and order, so a later populate asking for another view reads
    the collection again instead of reusing a filtered one."""
    if not node.custom:
        return None
    return (node.where, node.order_by)
