"""The dialect-agnostic query tree that drivers render (SQL via SQLAlchemy Core, or Mongo).

Values in the tree are Python values already checked against the property; to-one relation
comparisons carry primary-key tuples of the target.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from orm.core.metadata.model import EntityMetadata, PropertyMetadata


class Op(enum.Enum):
    EQ = "$eq"
    NE = "$ne"
    IN = "$in"
    NIN = "$nin"
    GT = "$gt"
    GTE = "$gte"
    LT = "$lt"
    LTE = "$lte"
    LIKE = "$like"
    ILIKE = "$ilike"
    RE = "$re"
    EXISTS = "$exists"
    CONTAINS = "$contains"


@dataclass(frozen=True)
class Comparison:
    """``prop <op> value`` on the entity in scope. For a to-one relation, values are key tuples."""

    prop: PropertyMetadata
    op: Op
    value: Any


@dataclass(frozen=True)
class RelationCondition:
    """``condition`` holds for the target of ``prop`` (any target, for a to-many relation)."""

    prop: PropertyMetadata
    condition: Condition


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | RelationCondition | And | Or | Not


class LockMode(enum.Enum):
    """Row locks for ``find``/``find_one`` inside a transaction; ``OPTIMISTIC`` takes no lock
    (the version property is checked by every flush anyway) and needs no transaction."""

    PESSIMISTIC_WRITE = "pessimistic_write"  # FOR UPDATE
    PESSIMISTIC_READ = "pessimistic_read"  # FOR SHARE
    OPTIMISTIC = "optimistic"  # no lock: the flush checks Property(version=True)


@dataclass(frozen=True)
class OrderItem:
    """Sort by ``path`` (relation hops then a scalar) ascending or descending."""

    path: tuple[PropertyMetadata, ...]
    descending: bool = False
    nulls_first: bool | None = None


@dataclass(frozen=True)
class PivotJoin:
    """Select targets of a ManyToMany linked to ``owner_keys``; rows carry ``"__owner__"``."""

    prop: PropertyMetadata
    owner_keys: tuple[tuple[Any, ...], ...]


class LoadStrategy(enum.Enum):
    """How ``populate`` loads relations (see docs/loading-strategies.md)."""

    SELECT_IN = "select-in"  # one query per relation level, keys IN (...)
    JOINED = "joined"  # one statement with LEFT JOINs
    JSON_AGGREGATE = "json-aggregate"  # one statement, nested json_agg LATERAL subqueries


@dataclass(frozen=True)
class PopulateNode:
    """A relation to load with its entities, and the relations to load below it.

    For a collection, ``where`` filters the loaded items (``populate_where``) and
    ``order_by`` is the order to load them in (``populate_order_by``, else the relation's
    declared order, else the target's primary key); ``custom`` says ``where`` or
    ``order_by`` came from the query, so the items may be a filtered view.
    """

    prop: PropertyMetadata
    children: tuple[PopulateNode, ...] = ()
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    custom: bool = False


@dataclass(frozen=True)
class SelectQuery:
    entity: EntityMetadata
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    lock_mode: LockMode | None = None
    lock_nowait: bool = False
    lock_skip_locked: bool = False
    pivot: PivotJoin | None = None
    fields: tuple[PropertyMetadata, ...] = field(default=())
    # Read by Connection.find_graph only: the relations to load in the same statement.
    populate: tuple[PopulateNode, ...] = ()


@dataclass(frozen=True)
class CountQuery:
    """``SELECT count(*)``, optionally grouped by a to-one relation or by pivot owner."""

    entity: EntityMetadata
    where: Condition | None = None
    group_by: PropertyMetadata | None = None
    pivot: PivotJoin | None = None
