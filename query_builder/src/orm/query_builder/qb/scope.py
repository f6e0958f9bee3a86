"""The base of one rendering of a builder: its aliases and the names it resolves.

A :class:`BuildBase` is one rendering of one builder (or of a subquery builder inside
another): each alias becomes an aliased ``Table`` (:class:`QbScope`), and the strings the user
wrote are resolved against the metadata here: property paths (joining to-one relations on the
way), aggregates and select labels. While a build renders it is the *current* one
(:func:`current_build`), so ``ref()`` and subqueries inside it reach the enclosing aliases.
Conditions, joins and the select list are layered on top (:mod:`.conditions`, :mod:`.joins`,
:mod:`.build`); the complete class is :class:`orm.query_builder.qb.build.Build`.
"""

from __future__ import annotations

import abc
import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.query_builder.qb.expressions import Aggregate, Path, Star, parse_expression
from orm.query_builder.qb.raw import IDENTIFIER, Raw
from orm.query_builder.qb.readers import (
    Column,
    Reader,
    aggregate_reader,
    property_reader,
    read_count,
)
from orm.query_builder.render import Scope, SqlRenderer

if TYPE_CHECKING:
    from orm.query_builder.qb.builder import QueryBuilder

# The aliases of the joins orm adds (``e0``, ``p0``, ...), which a user alias may not take.
RESERVED_ALIAS = re.compile(r"[ep][0-9]+\Z")
_CURRENT: contextvars.ContextVar[BuildBase | None] = contextvars.ContextVar(
    "orm_query_builder_build", default=None
)


def current_build() -> BuildBase | None:
    """The build rendering right now (the innermost one), if any."""
    return _CURRENT.get()


def check_alias(alias: Any) -> None:
    if not isinstance(alias, str) or IDENTIFIER.match(alias) is None:
        raise ValidationError(f"an alias must be an identifier such as 'b', got {alias!r}")
    if RESERVED_ALIAS.match(alias):
        raise ValidationError(
            f"the alias {alias!r} is reserved for the joins orm adds (e0, e1, p0, ...); "
            f"choose another"
        )


class QbScope(Scope):
    """A user alias. To-one joins the filter language or a path needs are attached to
    ``attach_to``: the builder's root, once the builder's joins are attached (see
    :meth:`~orm.query_builder.qb.joins.JoinsBuild.attach_joins`)."""

    def __init__(
        self, renderer: SqlRenderer, meta: EntityMetadata, alias: sa.FromClause, name: str
    ) -> None:
        super().__init__(renderer, meta, alias)
        self.name = name


def dialect_is_mysql(renderer_dialect: str) -> bool:
    return renderer_dialect in ("mysql", "mariadb")


class BuildBase(abc.ABC):
    """The aliases of one rendering and the paths, aggregates and labels it resolves."""

    def __init__(
        self,
        qb: QueryBuilder[Any],
        renderer: SqlRenderer,
        parent: BuildBase | None,
        *,
        plain_root: bool = False,
    ) -> None:
        self.qb = qb
        self.renderer = renderer
        self.parent = parent
        state = qb.state
        self.meta = state.meta
        table = renderer.tables[self.meta.table]
        root_table: sa.FromClause = table if plain_root else table.alias(state.alias)
        self.root = QbScope(renderer, self.meta, root_table, state.alias)
        self.scopes: dict[str, QbScope] = {state.alias: self.root}
        self.labels: dict[str, Column] = {}
        # Set for an UPDATE/DELETE of this table: MySQL then needs subqueries on it wrapped.
        self.dml_table: str | None = parent.dml_table if parent is not None else None
        self.mysql = dialect_is_mysql(state.driver.dialect.name)

    @contextmanager
    def active(self) -> Iterator[BuildBase]:
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    def next_alias(self, prefix: str) -> str:
        return self.renderer.next_alias(prefix)

    @abc.abstractmethod
    def nested(self, query: QueryBuilder[Any], mode: str) -> tuple[sa.Select[Any], Reader]:
        """``query`` rendered inside this statement (see :func:`.build.subquery`)."""

    # -- paths -----------------------------------------------------------------------------

    def resolve_path(self, path: Path, *, where: str) -> tuple[Scope, PropertyMetadata]:
        """``b.author.name`` -> (the scope holding the column, the property)."""
        names = path.names
        if names[0] in self.scopes:
            if len(names) == 1:
                raise ValidationError(
                    f"{where}: {names[0]!r} is an alias; name one of its properties, e.g. "
                    f"'{names[0]}.{next(iter(self.scopes[names[0]].meta.properties))}', or "
                    f"'{names[0]}.*'"
                )
            scope: Scope = self.scopes[names[0]]
            rest = names[1:]
        else:
            scope = self.root
            rest = names
        meta = scope.meta
        hops: list[PropertyMetadata] = []
        prop: PropertyMetadata | None = None
        for index, name in enumerate(rest):
            prop = meta.properties.get(name)
            if prop is None and index == 0 and len(rest) > 1 and scope is self.root:
                raise ValidationError(
                    f"{where}: {str(path)!r}: {name!r} is neither an alias ("
                    f"{', '.join(self.scopes)}) nor a relation of {meta.class_name}"
                )
            if prop is None:
                aliases = ", ".join(self.scopes)
                raise ValidationError(
                    f"{where}: {meta.class_name} has no property {name!r} (in {str(path)!r}); "
                    f"known properties: {', '.join(meta.properties)}; aliases: {aliases}"
                )
            if index < len(rest) - 1:
                if not prop.is_to_one or prop.target is None:
                    raise ValidationError(
                        f"{where}: {str(path)!r} goes through {prop.path}, which is not a to-one "
                        f"relation; join it first: qb.join('<alias>.{prop.name}', '<new alias>')"
                    )
                hops.append(prop)
                meta = prop.target
        assert prop is not None
        if not prop.is_persistent:
            raise ValidationError(
                f"{where}: {prop.path} has no column in {meta.class_name}'s table (it is a "
                f"collection or the inverse side of a relation); join it with "
                f"qb.join('<alias>.{prop.name}', '<new alias>') and use the new alias"
            )
        target_scope = scope.join(hops) if hops else scope
        return target_scope, prop

    def path_column(self, path: Path, *, where: str) -> tuple[list[ColumnElement[Any]], Reader]:
        scope, prop = self.resolve_path(path, where=where)
        elements = [scope.column(c) for c in prop.columns]
        return elements, property_reader(prop, self.renderer.values.from_db)

    def aggregate(self, aggregate: Aggregate, *, where: str) -> tuple[ColumnElement[Any], Reader]:
        if aggregate.argument is None:
            return sa.func.count(), read_count
        scope, prop = self.resolve_path(aggregate.argument, where=where)
        if len(prop.columns) != 1:
            raise ValidationError(
                f"{where}: {aggregate}: {prop.path} spans several columns (a composite key); "
                f"aggregate one of its parts"
            )
        column = prop.columns[0]
        element: Any = scope.column(column)
        if aggregate.distinct:
            element = sa.distinct(element)
        function = getattr(sa.func, aggregate.function)
        return function(element), aggregate_reader(
            aggregate.function, column, self.renderer.values.from_db
        )

    def expression(self, text: str | Raw, *, where: str) -> list[ColumnElement[Any]]:
        """A group/order/having key: a select label, a path (its columns) or an aggregate."""
        if isinstance(text, Raw):
            return [text.expression(self.renderer.values)]
        if isinstance(text, str) and text in self.labels:
            column = self.labels[text]
            return column.elements if column.expression is None else [column.expression]
        parsed = parse_expression(text, where=where)
        if isinstance(parsed, Star):
            raise ValidationError(f"{where}: '*' is not allowed here; name a property")
        if isinstance(parsed, Aggregate):
            return [self.aggregate(parsed, where=where)[0]]
        return self.path_column(parsed, where=where)[0]
