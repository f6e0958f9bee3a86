"""What a query builder has recorded about its statement: :class:`QueryState`.

The chainable methods of :class:`~orm.query_builder.qb.clauses.QueryClauses` write it (after
checking their arguments); the statement builders (:mod:`.build`, :mod:`.select`,
:mod:`.writes`, :mod:`.joins`, :mod:`.conditions`) only read it when the statement renders.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from orm.core.metadata.model import EntityMetadata

if TYPE_CHECKING:
    from orm.query_builder.driver import SqlDriver
    from orm.query_builder.qb.joins import JoinSpec
    from orm.query_builder.qb.raw import Raw

QueryType = Literal["select", "count", "insert", "update", "delete", "truncate"]
# (how it combines with what came before: "and"/"or", the condition as the user gave it)
Clause = tuple[str, Any]
# (a path, label, aggregate or raw(); descending; True/False: NULLS FIRST/LAST, None: default)
OrderTerm = tuple["str | Raw", bool, "bool | None"]


@dataclass
class QueryState:
    """The statement one builder describes, for entity ``meta`` under the alias ``alias``."""

    driver: SqlDriver
    meta: EntityMetadata
    alias: str
    type: QueryType = "select"
    select: list[Any] = field(default_factory=list)
    distinct: bool = False
    joins: list[JoinSpec] = field(default_factory=list)
    # Every alias (the root's and the joins') and the entity it stands for.
    aliases: dict[str, EntityMetadata] = field(default_factory=dict)
    # The aliases whose entities get_result_list() loads: the root and join_and_select ones.
    fetched: set[str] = field(default_factory=set)
    where: list[Clause] = field(default_factory=list)
    group_by: list[str | Raw] = field(default_factory=list)
    having: list[Clause] = field(default_factory=list)
    order_by: list[OrderTerm] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    rows: list[Mapping[str, Any]] = field(default_factory=list)  # insert()
    values: Mapping[str, Any] = field(default_factory=dict)  # update()
    count_field: str | None = None  # count(field)
    count_distinct: bool = False  # count(field, distinct=True)

    def __post_init__(self) -> None:
        self.aliases.setdefault(self.alias, self.meta)
        self.fetched.add(self.alias)

    def copy(self) -> QueryState:
        """An independent copy: its lists, aliases and fetched set can change apart."""
        return dataclasses.replace(
            self,
            select=list(self.select),
            joins=list(self.joins),
            aliases=dict(self.aliases),
            fetched=set(self.fetched),
            where=list(self.where),
            group_by=list(self.group_by),
            having=list(self.having),
            order_by=list(self.order_by),
            rows=list(self.rows),
        )
