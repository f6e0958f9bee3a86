"""Render a :class:`~orm.query_builder.builder.QueryBuilder` as SQLAlchemy Core statements.

One :class:`Build` is one rendering of one builder: its aliases become aliased ``Table``s
(:class:`QbScope`), joins hang off the root, filter dicts go through the core filter parser and
the shared :class:`SqlRenderer`, and select/group/order/having strings are parsed by
:mod:`orm.query_builder.expressions` and resolved against the metadata. Values are always bound
parameters; the only SQL text is what the user wrote in ``raw()``.

Subqueries (a builder as a filter value, in ``exists()``, or as a selected column) render as a
nested :class:`Build` whose ``parent`` is the enclosing one, so ``ref("a.id")`` can reach the
enclosing aliases (correlation).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import enum
import itertools
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.expression import Executable

from orm.core.errors import ValidationError
from orm.core.keys import coerce_scalar, normalize_key
from orm.core.metadata.model import (
    ColumnInfo,
    EntityMetadata,
    PropertyMetadata,
    RelationKind,
    ScalarKind,
)
from orm.core.query.filter import is_expression, parse_filter
from orm.query_builder.expressions import Aggregate, Path, Star, parse_expression, parse_item
from orm.query_builder.raw import IDENTIFIER, Raw, plain_to_db
from orm.query_builder.render import SqlRenderer, _Scope

if TYPE_CHECKING:
    from orm.query_builder.builder import QueryBuilder

RESERVED_ALIAS = re.compile(r"[ep][0-9]+\Z")
_CURRENT: contextvars.ContextVar[Build | None] = contextvars.ContextVar(
    "orm_query_builder_build", default=None
)
_VALUE_OPS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$like", "$exists")
_SCALAR_TYPES = (str, int, float, decimal.Decimal, bytes, dt.date, dt.time, uuid.UUID, enum.Enum)


# -- helper objects a user passes to a builder ----------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A column of an enclosing builder's alias, for correlated subqueries: ``ref("a.id")``."""

    path: str

    def __orm_expression__(self, renderer: SqlRenderer) -> ColumnElement[Any]:
        build = _CURRENT.get()
        names = tuple(part.strip() for part in self.path.split("."))
        while build is not None:
            if names[0] in build.scopes:
                if len(names) < 2:
                    break
                scope, prop = build.resolve_path(Path(names), where=f"ref({self.path!r})")
                if len(prop.columns) != 1:
                    raise ValidationError(
                        f"ref({self.path!r}): {prop.path} has a composite key; compare its "
                        f"parts one by one"
                    )
                return scope.column(prop.columns[0])
            build = build.parent
        raise ValidationError(
            f"ref({self.path!r}) names no alias of this query builder or of one enclosing it; "
            f"write ref('<alias>.<property>') inside a subquery"
        )


def ref(path: str) -> Ref:
    """A column of this or an enclosing builder, e.g. ``sub.where({"author": ref("a.id")})``."""
    names = path.split(".") if isinstance(path, str) else []
    if len(names) < 2 or not all(IDENTIFIER.match(name.strip()) for name in names):
        raise ValidationError(f"ref() takes '<alias>.<property>', got {path!r}")
    return Ref(path)


@dataclass(frozen=True)
class Exists:
    """``EXISTS (subquery)`` (or ``NOT EXISTS``) as a condition for ``where``/``having``."""

    query: QueryBuilder[Any]
    negated: bool = False


def exists(query: QueryBuilder[Any]) -> Exists:
    return Exists(query)


def not_exists(query: QueryBuilder[Any]) -> Exists:
    return Exists(query, negated=True)


@dataclass(frozen=True)
class SubqueryColumn:
    """A builder selected as one column: ``qb.select("*", sub.as_("book_count"))``."""

    query: QueryBuilder[Any]
    label: str


# -- SQL that SQLAlchemy Core has no construct for ---------------------------------------------


class Truncate(Executable, ClauseElement):
    """``TRUNCATE TABLE t``: DELETE on SQLite, with RESTART IDENTITY on PostgreSQL."""

    __visit_name__ = "orm_truncate"
    inherit_cache = False

    def __init__(self, table: sa.Table) -> None:
        self.table = table


@compiles(Truncate)
def _truncate(element: Truncate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"TRUNCATE TABLE {compiler.preparer.format_table(element.table)}"


@compiles(Truncate, "postgresql")
def _truncate_postgresql(element: Truncate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"TRUNCATE TABLE {compiler.preparer.format_table(element.table)} RESTART IDENTITY"


@compiles(Truncate, "sqlite")
def _truncate_sqlite(element: Truncate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"DELETE FROM {compiler.preparer.format_table(element.table)}"


# -- the pieces of a rendering ----------------------------------------------------------------


class QbScope(_Scope):
    """A user alias. To-one joins the filter language or a path needs are attached to
    ``attach_to``: the builder's root, so every join lands in one flat FROM clause."""

    def __init__(
        self, renderer: SqlRenderer, meta: EntityMetadata, alias: sa.FromClause, name: str
    ) -> None:
        super().__init__(renderer, meta, alias)
        self.name = name
        self.attach_to: _Scope = self

    def join(self, path: Sequence[PropertyMetadata]) -> _Scope:
        scope: _Scope = self
        for depth in range(1, len(path) + 1):
            key = tuple(id(p) for p in path[:depth])
            joined = self._joins.get(key)
            if joined is None:
                joined = scope._join_one(path[depth - 1], self.attach_to)
                self._joins[key] = joined
            scope = joined
        return scope


Reader = Callable[[Sequence[Any]], Any]


@dataclass
class Column:
    """One output of a SELECT: ``elements`` SQL columns read into one value named ``label``."""

    label: str
    elements: list[ColumnElement[Any]]
    read: Reader
    # What order_by/having use for this label (the expression, not its name).
    expression: ColumnElement[Any] | None = None
    # The labelled element in the SELECT list (order_by a label refers to it by name).
    sql: sa.Label[Any] | None = None


@dataclass
class EntitySlot:
    """The columns of one entity in a row (the root or a ``join_and_select`` alias)."""

    alias: str
    meta: EntityMetadata
    parent: str | None
    prop: PropertyMetadata | None
    start: int = 0
    end: int = 0
    read: Callable[[Sequence[Any]], dict[str, Any] | None] = field(default=lambda row: None)


def dialect_is_mysql(renderer_dialect: str) -> bool:
    return renderer_dialect in ("mysql", "mariadb")


class Build:
    """One rendering of one builder (or of a subquery builder inside another)."""

    def __init__(
        self,
        qb: QueryBuilder[Any],
        renderer: SqlRenderer,
        parent: Build | None,
        *,
        plain_root: bool = False,
    ) -> None:
        self.qb = qb
        self.renderer = renderer
        self.parent = parent
        self.meta = qb._meta
        table = renderer.tables[self.meta.table]
        root_table: sa.FromClause = table if plain_root else table.alias(qb._alias)
        self.root = QbScope(renderer, self.meta, root_table, qb._alias)
        self.scopes: dict[str, QbScope] = {qb._alias: self.root}
        self.labels: dict[str, Column] = {}
        # Set for an UPDATE/DELETE of this table: MySQL then needs subqueries on it wrapped.
        self.dml_table: str | None = parent.dml_table if parent is not None else None
        self.mysql = dialect_is_mysql(qb._driver.dialect.name)

    @contextmanager
    def active(self) -> Iterator[Build]:
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    def next_alias(self, prefix: str) -> str:
        return f"{prefix}{next(self.renderer._aliases)}"

    # -- joins -----------------------------------------------------------------------------

    def attach_joins(self) -> None:
        renderer = self.renderer
        for join in self.qb._joins:
            parent = self.scopes[join.parent]
            prop = join.prop
            target = prop.target
            assert target is not None
            alias = renderer.tables[target.table].alias(join.alias)
            scope = QbScope(renderer, target, alias, join.alias)
            self.scopes[join.alias] = scope
            outer = join.left
            if prop.relation is RelationKind.MANY_TO_MANY:
                owning = prop if prop.owner else prop.inverse
                assert owning is not None and owning.pivot_table is not None
                if prop.owner:
                    mine, theirs = owning.pivot_owner_columns, owning.pivot_target_columns
                else:
                    mine, theirs = owning.pivot_target_columns, owning.pivot_owner_columns
                pivot = renderer.tables[owning.pivot_table].alias(self.next_alias("p"))
                to_pivot = sa.and_(
                    *(
                        pivot.c[name] == parent.column(pk)
                        for name, pk in zip(mine, parent.meta.pk_columns, strict=True)
                    )
                )
                link = sa.and_(
                    *(
                        pivot.c[name] == scope.column(pk)
                        for name, pk in zip(theirs, target.pk_columns, strict=True)
                    )
                )
                onclause = self._with_join_condition(link, join.condition, scope)
                self.root.from_clause = self.root.from_clause.join(
                    pivot, to_pivot, isouter=outer
                ).join(scope.from_clause, onclause, isouter=outer)
            else:
                link = _link(parent, scope, prop)
                onclause = self._with_join_condition(link, join.condition, scope)
                self.root.from_clause = self.root.from_clause.join(
                    scope.from_clause, onclause, isouter=outer
                )
            scope.attach_to = self.root

    def _with_join_condition(
        self, link: ColumnElement[bool], condition: Any, scope: QbScope
    ) -> ColumnElement[bool]:
        if condition is None:
            return link
        extra = self.condition(condition, scope, where=f"join condition of {scope.name!r}")
        return link if extra is None else sa.and_(link, extra)

    @property
    def multiplies_roots(self) -> bool:
        """Whether a join can repeat a root row (a to-many relation somewhere in the joins)."""
        return any(join.prop.is_collection for join in self.qb._joins)

    # -- paths -----------------------------------------------------------------------------

    def resolve_path(self, path: Path, *, where: str) -> tuple[_Scope, PropertyMetadata]:
        """``b.author.name`` -> (the scope holding the column, the property)."""
        names = path.names
        if names[0] in self.scopes:
            if len(names) == 1:
                raise ValidationError(
                    f"{where}: {names[0]!r} is an alias; name one of its properties, e.g. "
                    f"'{names[0]}.{next(iter(self.scopes[names[0]].meta.properties))}', or "
                    f"'{names[0]}.*'"
                )
            scope: _Scope = self.scopes[names[0]]
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
        from_db = self.renderer.values.from_db
        columns = prop.columns
        elements = [scope.column(c) for c in columns]
        if len(columns) == 1:
            column = columns[0]
            return elements, lambda values: from_db(column, values[0])

        def read(values: Sequence[Any]) -> Any:
            if all(v is None for v in values):
                return None
            return tuple(from_db(c, v) for c, v in zip(columns, values, strict=True))

        return elements, read

    def aggregate(self, aggregate: Aggregate, *, where: str) -> tuple[ColumnElement[Any], Reader]:
        if aggregate.argument is None:
            return sa.func.count(), _read_count
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
        return function(element), _aggregate_reader(
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

    # -- select list -----------------------------------------------------------------------

    def star_columns(self, alias: str | None, *, prefix: str = "") -> list[Column]:
        name = alias or self.qb._alias
        scope = self.scopes.get(name)
        if scope is None:
            raise ValidationError(f"select: unknown alias {name!r} in '{name}.*'")
        from_db = self.renderer.values.from_db
        result: list[Column] = []
        for prop in scope.meta.persistent:
            elements = [scope.column(c) for c in prop.columns]
            result.append(Column(prefix + prop.name, elements, _property_reader(prop, from_db)))
        return result

    def select_columns(self) -> list[Column]:
        """The builder's select list (``*`` when none) plus the ``join_and_select`` aliases."""
        qb = self.qb
        columns: list[Column] = []
        specs = qb._select or ["*"]
        for spec in specs:
            columns.extend(self._select_item(spec))
        for join in qb._joins:
            if join.fetch:
                columns.extend(self.star_columns(join.alias, prefix=f"{join.alias}__"))
        for column in columns:
            if column.label in self.labels:
                raise ValidationError(
                    f"select: two columns are named {column.label!r}; name them apart with "
                    f"'... as <name>'"
                )
            if column.expression is None and len(column.elements) == 1:
                column.expression = column.elements[0]
            self.labels[column.label] = column
        return columns

    def _select_item(self, spec: Any) -> list[Column]:
        where = "select"
        if isinstance(spec, Raw):
            fragment, label = spec.split_label()
            if label is None:
                raise ValidationError(
                    f"select: name the raw column: raw('{spec.sql} as <name>') or "
                    f"raw(...).as_('<name>')"
                )
            expression = fragment.expression(self.renderer.values)
            return [Column(label, [expression], _first, expression)]
        if isinstance(spec, SubqueryColumn):
            select, reader = subquery(spec.query, self.renderer, "scalar")
            expression = select.scalar_subquery()
            return [Column(spec.label, [expression], reader, expression)]
        item = parse_item(spec, where=where)
        parsed = item.expression
        if isinstance(parsed, Star):
            if item.label is not None:
                raise ValidationError(f"select: {spec!r}: '*' cannot be named with 'as'")
            return self.star_columns(parsed.alias)
        if isinstance(parsed, Aggregate):
            expression, reader = self.aggregate(parsed, where=where)
            return [Column(item.label or parsed.function, [expression], reader)]
        elements, read = self.path_column(parsed, where=where)
        return [Column(item.label or parsed.names[-1], elements, read)]

    def labelled(self, columns: Sequence[Column]) -> list[ColumnElement[Any]]:
        result: list[ColumnElement[Any]] = []
        for column in columns:
            if len(column.elements) == 1:
                column.sql = column.elements[0].label(column.label)
                result.append(column.sql)
            else:
                result.extend(
                    element.label(f"{column.label}__{i}")
                    for i, element in enumerate(column.elements)
                )
        return result

    def entity_slots(self) -> list[EntitySlot]:
        """The root and every ``join_and_select`` alias, for hydration."""
        slots = [EntitySlot(self.qb._alias, self.meta, None, None)]
        for join in self.qb._joins:
            if join.fetch:
                target = join.prop.target
                assert target is not None
                slots.append(EntitySlot(join.alias, target, join.parent, join.prop))
        return slots

    def slot_columns(self, slots: Sequence[EntitySlot]) -> list[ColumnElement[Any]]:
        elements: list[ColumnElement[Any]] = []
        from_db = self.renderer.values.from_db
        for slot in slots:
            scope = self.scopes[slot.alias]
            slot.start = len(elements)
            readers: list[tuple[PropertyMetadata, int, int]] = []
            for prop in slot.meta.persistent:
                start = len(elements)
                for column in prop.columns:
                    label = f"{slot.alias}__{column.name}"
                    elements.append(scope.column(column).label(label))
                readers.append((prop, start - slot.start, len(elements) - slot.start))
            slot.end = len(elements)
            key_ranges = [(s, e) for p, s, e in readers if p.primary]
            slot.read = _entity_reader(readers, key_ranges, slot.start, slot.end, from_db)
        return elements

    # -- conditions ------------------------------------------------------------------------

    def condition(self, node: Any, scope: QbScope, *, where: str) -> ColumnElement[bool] | None:
        if isinstance(node, Raw):
            return node.clause(self.renderer.values)  # type: ignore[return-value]
        if isinstance(node, Exists):
            statement, _ = subquery(node.query, self.renderer, "exists")
            found = statement.exists()
            return sa.not_(found) if node.negated else found
        if isinstance(node, Mapping):
            return self.filter_dict(node, scope, where=where)
        if isinstance(node, str):
            raise ValidationError(
                f"{where}: a str is not a condition (strings are never SQL here); pass a filter "
                f"dict such as {{'title': ...}}, raw('...', params), or exists(subquery)"
            )
        parsed = parse_filter(scope.meta, node)
        return None if parsed is None else self.renderer.condition(scope, parsed)

    def filter_dict(
        self, where_dict: Mapping[Any, Any], scope: QbScope, *, where: str
    ) -> ColumnElement[bool] | None:
        parts: list[ColumnElement[bool]] = []
        for key, value in where_dict.items():
            if not isinstance(key, str):
                raise ValidationError(f"{where}: filter keys must be str, got {key!r}")
            if key in ("$and", "$or"):
                if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, Mapping) for v in value
                ):
                    raise ValidationError(f"{where}: {key} takes a list of filter dicts")
                inner = [
                    c
                    for c in (self.filter_dict(v, scope, where=where) for v in value)
                    if c is not None
                ]
                if inner:
                    parts.append(sa.and_(*inner) if key == "$and" else sa.or_(*inner))
                elif key == "$or":
                    parts.append(sa.false())
            elif key == "$not":
                if not isinstance(value, Mapping):
                    raise ValidationError(f"{where}: $not takes a filter dict, got {value!r}")
                inner_condition = self.filter_dict(value, scope, where=where)
                if inner_condition is not None:
                    parts.append(sa.not_(inner_condition))
            elif key.startswith("$"):
                raise ValidationError(
                    f"{where}: unknown operator {key!r} at the top of a filter; use $and, $or, "
                    f"$not, a property name, or '<alias>.<property>'"
                )
            else:
                condition = self._filter_key(key, value, scope, where=where)
                if condition is not None:
                    parts.append(condition)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _filter_key(
        self, key: str, value: Any, scope: QbScope, *, where: str
    ) -> ColumnElement[bool] | None:
        names = [part.strip() for part in key.split(".")]
        if names[0] in self.scopes:
            target = self.scopes[names[0]]
            names = names[1:]
            if not names:
                if not isinstance(value, Mapping):
                    raise ValidationError(
                        f"{where}: {key!r} is an alias; give it a filter dict, e.g. "
                        f"{{{key!r}: {{'name': ...}}}}"
                    )
                return self.filter_dict(value, target, where=where)
        else:
            target = scope
        nested: Any = value
        for name in reversed(names[1:]):
            nested = {name: nested}
        parsed = parse_filter(target.meta, {names[0]: nested})
        return None if parsed is None else self.renderer.condition(target, parsed)

    def where_clause(self) -> ColumnElement[bool] | None:
        return self._fold(self.qb._where, self._where_part, "where")

    def _where_part(self, node: Any, where: str) -> ColumnElement[bool] | None:
        return self.condition(node, self.root, where=where)

    def having_clause(self) -> ColumnElement[bool] | None:
        return self._fold(self.qb._having, self._having_part, "having")

    @staticmethod
    def _fold(
        items: Sequence[tuple[str, Any]],
        render: Callable[[Any, str], ColumnElement[bool] | None],
        where: str,
    ) -> ColumnElement[bool] | None:
        result: ColumnElement[bool] | None = None
        for how, node in items:
            part = render(node, where)
            if part is None:
                continue
            if result is None:
                result = part
            elif how == "or":
                result = sa.or_(result, part)
            else:
                result = sa.and_(result, part)
        return result

    def _having_part(self, node: Any, where: str) -> ColumnElement[bool] | None:
        if isinstance(node, Mapping):
            return self._having_dict(node, where)
        return self.condition(node, self.root, where=where)

    def _having_dict(self, node: Mapping[Any, Any], where: str) -> ColumnElement[bool] | None:
        parts: list[ColumnElement[bool]] = []
        for key, value in node.items():
            if not isinstance(key, str):
                raise ValidationError(f"{where}: keys must be str, got {key!r}")
            if key in ("$and", "$or"):
                if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, Mapping) for v in value
                ):
                    raise ValidationError(f"{where}: {key} takes a list of dicts")
                inner = [c for c in (self._having_dict(v, where) for v in value) if c is not None]
                if inner:
                    parts.append(sa.and_(*inner) if key == "$and" else sa.or_(*inner))
                elif key == "$or":
                    parts.append(sa.false())
                continue
            if key == "$not":
                if not isinstance(value, Mapping):
                    raise ValidationError(f"{where}: $not takes a dict, got {value!r}")
                inner_condition = self._having_dict(value, where)
                if inner_condition is not None:
                    parts.append(sa.not_(inner_condition))
                continue
            expression = self._aggregate_key(key, where)
            if expression is None:
                condition = self.filter_dict({key: value}, self.root, where=where)
            else:
                condition = self.compare(expression, value, where=f"{where} {key!r}")
            if condition is not None:
                parts.append(condition)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _aggregate_key(self, key: str, where: str) -> ColumnElement[Any] | None:
        """A having key that is a select label or an aggregate; None for a property path."""
        if key in self.labels:
            column = self.labels[key]
            if column.expression is None:
                raise ValidationError(f"{where}: {key!r} spans several columns")
            return column.expression
        if key.startswith("$"):
            return None
        parsed = parse_expression(key, where=where)
        if isinstance(parsed, Aggregate):
            return self.aggregate(parsed, where=where)[0]
        return None

    def compare(self, left: ColumnElement[Any], value: Any, *, where: str) -> ColumnElement[bool]:
        """``left <op> value`` for an expression that is not a property (an aggregate)."""
        if isinstance(value, Mapping):
            if not value or not all(isinstance(k, str) and k.startswith("$") for k in value):
                raise ValidationError(f"{where}: expected a value or a dict of operators")
            operators: Mapping[str, Any] = value
        else:
            operators = {"$eq": value}
        parts: list[ColumnElement[bool]] = []
        for name, operand in operators.items():
            if name == "$not":
                parts.append(sa.not_(self.compare(left, operand, where=where)))
                continue
            if name not in _VALUE_OPS:
                raise ValidationError(
                    f"{where}: unknown operator {name!r}; use one of {', '.join(_VALUE_OPS)}, $not"
                )
            parts.append(self._compare_one(left, name, operand, where=f"{where} {name}"))
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _compare_one(
        self, left: ColumnElement[Any], name: str, operand: Any, *, where: str
    ) -> ColumnElement[bool]:
        if name == "$exists":
            if not isinstance(operand, bool):
                raise ValidationError(f"{where} takes True or False")
            return left.is_not(None) if operand else left.is_(None)
        if name in ("$in", "$nin"):
            if is_expression(operand):
                right = operand.__orm_expression__(self.renderer)
                found = left.in_(right)
            else:
                if not isinstance(operand, (list, tuple, set, frozenset)):
                    raise ValidationError(f"{where} takes a list of values, got {operand!r}")
                found = left.in_([self.value(v, where=where) for v in operand])
            return found if name == "$in" else sa.or_(sa.not_(found), left.is_(None))
        if operand is None:
            if name == "$eq":
                return left.is_(None)
            if name == "$ne":
                return left.is_not(None)
            raise ValidationError(f"{where}: None compares only with $eq/$ne")
        right = self.value(operand, where=where)
        if name == "$like":
            if not isinstance(operand, str):
                raise ValidationError(f"{where} takes a str pattern")
            return left.like(right)
        operations: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
            "$eq": lambda a, b: a == b,
            "$ne": lambda a, b: sa.or_(a != b, a.is_(None)),
            "$gt": lambda a, b: a > b,
            "$gte": lambda a, b: a >= b,
            "$lt": lambda a, b: a < b,
            "$lte": lambda a, b: a <= b,
        }
        return operations[name](left, right)

    def value(self, operand: Any, *, where: str) -> Any:
        """A bound parameter (or a query-builder expression) for a having comparison."""
        if is_expression(operand):
            right = operand.__orm_expression__(self.renderer)
            return right.scalar_subquery() if isinstance(right, sa.Select) else right
        if operand is None or isinstance(operand, _SCALAR_TYPES):
            return sa.bindparam(None, plain_to_db(self.renderer.values, operand))
        raise ValidationError(
            f"{where}: compare with a str, number, date or None, got {type(operand).__name__}"
        )

    # -- grouping and ordering -------------------------------------------------------------

    def group_terms(self) -> list[ColumnElement[Any]]:
        terms: list[ColumnElement[Any]] = []
        for spec in self.qb._group_by:
            terms.extend(self.expression(spec, where="group_by"))
        return terms

    def order_terms(self, *, aggregate: bool = False) -> list[Any]:
        """ORDER BY terms; with ``aggregate`` each key is min()/max() (for a GROUP BY root)."""
        terms: list[Any] = []
        for key, descending, nulls_first in self.qb._order_by:
            if not aggregate and nulls_first is None and isinstance(key, str):
                column = self.labels.get(key)
                if column is not None and column.sql is not None:
                    # The selected column's own label: ORDER BY <its name>.
                    terms.append(column.sql.desc() if descending else column.sql.asc())
                    continue
            for expression in self.expression(key, where="order_by"):
                if aggregate:
                    expression = (sa.func.max if descending else sa.func.min)(expression)
                terms.extend(self._order_term(expression, descending, nulls_first))
        return terms

    def _order_term(
        self, expression: ColumnElement[Any], descending: bool, nulls_first: bool | None
    ) -> list[Any]:
        term = expression.desc() if descending else expression.asc()
        if nulls_first is None:
            return [term]
        if not self.mysql:
            return [term.nulls_first() if nulls_first else term.nulls_last()]
        # MySQL/MariaDB have no NULLS FIRST/LAST: sort on "is null" first.
        is_null = sa.case((expression.is_(None), 1), else_=0)
        return [is_null.desc() if nulls_first else is_null.asc(), term]

    def apply_tail(
        self,
        statement: sa.Select[Any],
        *,
        order: bool = True,
        limit: bool = True,
    ) -> sa.Select[Any]:
        """WHERE, GROUP BY, HAVING, ORDER BY, LIMIT/OFFSET and DISTINCT of the builder.

        FROM is set by the caller after this, because rendering may add joins."""
        qb = self.qb
        condition = self.where_clause()
        if condition is not None:
            statement = statement.where(condition)
        group = self.group_terms()
        if group:
            statement = statement.group_by(*group)
        having = self.having_clause()
        if having is not None:
            statement = statement.having(having)
        if order:
            terms = self.order_terms()
            if terms:
                statement = statement.order_by(*terms)
        if limit:
            if qb._limit is not None:
                statement = statement.limit(qb._limit)
            if qb._offset:
                statement = statement.offset(qb._offset)
        if qb._distinct:
            statement = statement.distinct()
        return statement


# -- statements ----------------------------------------------------------------------------


def _fresh(renderer: SqlRenderer) -> None:
    """Number the internal aliases of a new top-level statement from zero."""
    renderer._aliases = itertools.count()


def select_statement(
    qb: QueryBuilder[Any], renderer: SqlRenderer
) -> tuple[sa.Select[Any], list[Column]]:
    """The builder's SELECT for ``execute()``: its select list, as plain values."""
    _fresh(renderer)
    build = Build(qb, renderer, None)
    with build.active():
        build.attach_joins()
        columns = build.select_columns()
        statement = build.apply_tail(sa.select(*build.labelled(columns)))
        statement = statement.select_from(build.root.from_clause)
    return statement, columns


def entity_statement(
    qb: QueryBuilder[Any], renderer: SqlRenderer
) -> tuple[sa.Select[Any], list[EntitySlot]]:
    """The SELECT for ``get_result_list()``: whole rows of the root and fetched aliases.

    With a to-many join, LIMIT/OFFSET apply to root entities: a subquery picks the page of
    root keys (grouped, ordered by min/max of the order keys) and the outer query loads their
    rows, however many joined rows each one has."""
    for spec in qb._select:
        if not (
            isinstance(spec, str) and isinstance(parse_item(spec, where="select").expression, Star)
        ):
            raise ValidationError(
                f"get_result_list() loads whole entities, but select() names {spec!r}; use "
                f"execute() for chosen columns and aggregates"
            )
    _fresh(renderer)
    build = Build(qb, renderer, None)
    with build.active():
        build.attach_joins()
        slots = build.entity_slots()
        elements = build.slot_columns(slots)
        paginate = (
            (qb._limit is not None or bool(qb._offset))
            and build.multiplies_roots
            and not qb._group_by
        )
        statement = build.apply_tail(sa.select(*elements), limit=not paginate)
        if paginate:
            keys = _root_page(qb, renderer)
            pk = [build.root.column(c) for c in build.meta.pk_columns]
            target: Any = pk[0] if len(pk) == 1 else sa.tuple_(*pk)
            statement = statement.where(target.in_(keys))
        statement = statement.select_from(build.root.from_clause)
    return statement, slots


def _root_page(
    qb: QueryBuilder[Any], renderer: SqlRenderer, *, dml_table: str | None = None
) -> sa.Select[Any]:
    """``SELECT key FROM (SELECT root key ... WHERE ... ORDER BY ... LIMIT ...) AS e``: the
    root keys the builder selects, each once. With a to-many join the keys are grouped and
    ordered by min()/max() of the order keys (valid on every database). A derived table,
    because MySQL refuses LIMIT inside IN (...) and subqueries on the table being changed."""
    inner = Build(qb, renderer, None)
    inner.dml_table = dml_table
    with inner.active():
        inner.attach_joins()
        pk = [inner.root.column(c) for c in inner.meta.pk_columns]
        statement = sa.select(*(c.label(f"k{i}") for i, c in enumerate(pk)))
        condition = inner.where_clause()
        if condition is not None:
            statement = statement.where(condition)
        grouped = inner.multiplies_roots
        if grouped:
            statement = statement.group_by(*pk)
        having = inner.having_clause()
        if having is not None:
            statement = statement.having(having)
        paged = qb._limit is not None or bool(qb._offset)
        if paged:
            terms = inner.order_terms(aggregate=grouped)
            statement = statement.order_by(*terms, *pk)
            if qb._limit is not None:
                statement = statement.limit(qb._limit)
            if qb._offset:
                statement = statement.offset(qb._offset)
        statement = statement.select_from(inner.root.from_clause)
        derived = statement.subquery(inner.next_alias("e"))
    return sa.select(*derived.c)


def count_statement(
    qb: QueryBuilder[Any],
    renderer: SqlRenderer,
    *,
    field_name: str | None = None,
    distinct: bool = False,
) -> sa.Select[Any]:
    """``SELECT count(...)``: the number of distinct roots (or groups) the builder matches."""
    _fresh(renderer)
    build = Build(qb, renderer, None)
    with build.active():
        build.attach_joins()
        condition = build.where_clause()
        grouped = bool(qb._group_by) or bool(qb._having)
        if field_name is not None:
            columns = build.expression(field_name, where="count")
            if len(columns) != 1:
                raise ValidationError(f"count({field_name!r}): name a one-column property")
            argument: Any = sa.distinct(columns[0]) if distinct else columns[0]
            statement = sa.select(sa.func.count(argument).label("count"))
        elif grouped or (qb._distinct and qb._select):
            inner_columns: list[Any]
            if qb._select:
                inner_columns = build.labelled(build.select_columns())
            else:
                inner_columns = [sa.literal(1).label("one")]
            inner = sa.select(*inner_columns)
            if condition is not None:
                inner = inner.where(condition)
            group = build.group_terms()
            if group:
                inner = inner.group_by(*group)
            having = build.having_clause()
            if having is not None:
                inner = inner.having(having)
            if qb._distinct:
                inner = inner.distinct()
            inner = inner.select_from(build.root.from_clause)
            derived = inner.subquery(build.next_alias("e"))
            return sa.select(sa.func.count().label("count")).select_from(derived)
        elif build.multiplies_roots:
            pk = [build.root.column(c) for c in build.meta.pk_columns]
            if len(pk) == 1:
                statement = sa.select(sa.func.count(sa.distinct(pk[0])).label("count"))
            else:
                inner = sa.select(*pk).distinct()
                if condition is not None:
                    inner = inner.where(condition)
                derived = inner.select_from(build.root.from_clause).subquery(build.next_alias("e"))
                return sa.select(sa.func.count().label("count")).select_from(derived)
        else:
            statement = sa.select(sa.func.count().label("count"))
        if condition is not None:
            statement = statement.where(condition)
        return statement.select_from(build.root.from_clause)


def subquery(
    qb: QueryBuilder[Any], renderer: SqlRenderer, mode: str
) -> tuple[sa.Select[Any], Reader]:
    """A builder inside another statement: ``column`` (one column, for ``$in``/comparisons),
    ``scalar`` (one column, selected with ``as_()``), or ``exists``."""
    if qb._type not in ("select", "count"):
        raise ValidationError(
            f"a {qb._type} query builder cannot be a subquery; build a select() instead"
        )
    parent = _CURRENT.get()
    if parent is not None and parent.qb._driver is not qb._driver:
        raise ValidationError("a subquery must come from the same ORM as the query using it")
    build = Build(qb, renderer, parent)
    with build.active():
        build.attach_joins()
        reader: Reader = _first
        if mode == "exists":
            statement = sa.select(sa.literal(1))
        else:
            if qb._type == "count":
                element: Any = sa.func.count()
                reader = _read_count
                if qb._count_field is not None:
                    column = build.expression(qb._count_field, where="count")[0]
                    element = sa.func.count(sa.distinct(column) if qb._count_distinct else column)
                elif build.multiplies_roots and len(build.meta.pk_columns) == 1:
                    element = sa.func.count(
                        sa.distinct(build.root.column(build.meta.pk_columns[0]))
                    )
                elements = [element.label("count")]
            elif qb._select:
                columns = build.select_columns()
                elements = build.labelled(columns)
                if len(elements) != 1:
                    raise ValidationError(
                        f"a subquery used as a value selects one column; "
                        f"{qb._alias!r} selects {len(elements)}"
                    )
                reader = columns[0].read
            else:
                pk = build.meta.pk_columns
                if len(pk) != 1:
                    raise ValidationError(
                        f"{build.meta.class_name} has a composite key: select() the one column "
                        f"the subquery should return"
                    )
                elements = [build.root.column(pk[0])]
                from_db = renderer.values.from_db
                key_column = pk[0]
                reader = lambda values: from_db(key_column, values[0])  # noqa: E731
            statement = sa.select(*elements)
        statement = build.apply_tail(
            statement,
            order=mode != "exists" and qb._type != "count",
            limit=qb._type != "count",
        )
        statement = statement.select_from(build.root.from_clause)
        wrap = mode == "column" and (
            qb._limit is not None
            or bool(qb._offset)
            or (build.mysql and build.dml_table == build.meta.table)
        )
        if wrap:
            # MySQL refuses LIMIT inside IN (...) and subqueries reading the table an
            # UPDATE/DELETE writes; a derived table is fine for both, and for every database.
            derived = statement.subquery(build.next_alias("e"))
            statement = sa.select(*derived.c)
    return statement, reader


def insert_statement(qb: QueryBuilder[Any], renderer: SqlRenderer) -> sa.Insert | None:
    meta = qb._meta
    table = renderer.tables[meta.table]
    rows = [_insert_row(meta, renderer, row, index) for index, row in enumerate(qb._rows)]
    if not rows:
        return None
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns_by_name = {c.name: c for p in meta.persistent for c in p.columns}
    for row in rows:
        for name in names:
            if name not in row:
                row[name] = renderer.bind(columns_by_name[name], None)
    return sa.insert(table).values(rows if len(rows) > 1 else rows[0])


def _insert_row(
    meta: EntityMetadata, renderer: SqlRenderer, data: Mapping[str, Any], index: int
) -> dict[str, Any]:
    where = f"insert() row {index}"
    values = _assignments(meta, renderer, data, where=where)
    for prop in meta.persistent:
        if prop.name in data:
            continue
        if prop.default_factory is not None:
            default = prop.default_factory()
        elif prop.has_default:
            default = prop.default
        else:
            continue
        values.update(_assignments(meta, renderer, {prop.name: default}, where=where))
    return values


def _assignments(
    meta: EntityMetadata, renderer: SqlRenderer, data: Mapping[str, Any], *, where: str
) -> dict[str, Any]:
    """``{property: value}`` -> ``{column name: bound value or expression}``."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"{where}: expected a dict of property values, got {data!r}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        prop = meta.properties.get(name) if isinstance(name, str) else None
        if prop is None:
            raise ValidationError(
                f"{where}: {meta.class_name} has no property {name!r}; known properties: "
                f"{', '.join(p.name for p in meta.persistent)}"
            )
        if not prop.is_persistent:
            raise ValidationError(
                f"{where}: {prop.path} is a collection or the inverse side of a relation; set "
                f"the owning side (the foreign key) instead"
            )
        at = f"{where} {prop.path}"
        if is_expression(value):
            if len(prop.columns) != 1:
                raise ValidationError(f"{at}: an expression sets one column; this key has several")
            expression = value.__orm_expression__(renderer)
            if isinstance(expression, sa.Select):
                expression = expression.scalar_subquery()
            values[prop.columns[0].name] = expression
        elif prop.relation is None:
            kind = prop.kind
            assert kind is not None
            if kind is not ScalarKind.JSON:
                value = coerce_scalar(kind, value, where=at, enum_type=prop.enum_type)
            values[prop.columns[0].name] = renderer.bind(prop.columns[0], value)
        else:
            target = prop.target
            assert target is not None
            key = None if value is None else normalize_key(target, value, where=at)
            for index, column in enumerate(prop.columns):
                part = None if key is None else key[index]
                values[column.name] = renderer.bind(column, part)
    return values


def update_statement(qb: QueryBuilder[Any], renderer: SqlRenderer) -> sa.Update:
    _fresh(renderer)
    meta = qb._meta
    table = renderer.tables[meta.table]
    if not qb._values:
        raise ValidationError("update() needs a dict of property values to set")
    statement = sa.update(table)
    condition = _dml_condition(qb, renderer, table)
    if condition is not None:
        statement = statement.where(condition)
    build = Build(qb, renderer, None, plain_root=True)
    build.dml_table = meta.table
    with build.active():
        values = _assignments(meta, renderer, qb._values, where="update()")
    return statement.values(values)


def delete_statement(qb: QueryBuilder[Any], renderer: SqlRenderer) -> sa.Delete:
    _fresh(renderer)
    table = renderer.tables[qb._meta.table]
    statement = sa.delete(table)
    condition = _dml_condition(qb, renderer, table)
    if condition is not None:
        statement = statement.where(condition)
    return statement


def _dml_condition(
    qb: QueryBuilder[Any], renderer: SqlRenderer, table: sa.Table
) -> ColumnElement[bool] | None:
    """The WHERE of an UPDATE/DELETE: on the table itself when the filter needs no join, else
    ``key IN (SELECT key FROM (SELECT ... joins ... WHERE ...) AS e)``."""
    if qb._group_by or qb._select or qb._distinct:
        raise ValidationError(
            f"{qb._type}() takes where(), joins, order_by() and limit(); not select(), "
            f"group_by() or distinct()"
        )
    simple = not (
        qb._joins
        or qb._having
        or qb._limit is not None
        or qb._offset
        or qb._order_by
        or _mentions_raw(qb._where)
    )
    if simple:
        build = Build(qb, renderer, None, plain_root=True)
        build.dml_table = qb._meta.table
        with build.active():
            condition = build.where_clause()
        if build.root.from_clause is build.root.alias:
            return condition
        _fresh(renderer)
    keys = _root_page(qb, renderer, dml_table=qb._meta.table)
    columns = [table.c[c.name] for c in qb._meta.pk_columns]
    target: Any = columns[0] if len(columns) == 1 else sa.tuple_(*columns)
    result: ColumnElement[bool] = target.in_(keys)
    return result


def _mentions_raw(node: Any) -> bool:
    if isinstance(node, Raw):
        return True
    if isinstance(node, Mapping):
        return any(_mentions_raw(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_mentions_raw(v) for v in node)
    if isinstance(node, Exists):
        return _mentions_raw(node.query._where)
    return False


def truncate_statement(qb: QueryBuilder[Any], renderer: SqlRenderer) -> Truncate:
    return Truncate(renderer.tables[qb._meta.table])


# -- reading ---------------------------------------------------------------------------------


def _link(parent: _Scope, child: _Scope, prop: PropertyMetadata) -> ColumnElement[bool]:
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


def _first(values: Sequence[Any]) -> Any:
    return values[0]


def _read_count(values: Sequence[Any]) -> Any:
    return None if values[0] is None else int(values[0])


def _aggregate_reader(
    function: str, column: ColumnInfo, from_db: Callable[[ColumnInfo, Any], Any]
) -> Reader:
    kind = column.kind

    def read(values: Sequence[Any]) -> Any:
        value = values[0]
        if value is None:
            return None
        if function == "count":
            return int(value)
        if function in ("min", "max"):
            return from_db(column, value)
        if kind is ScalarKind.DECIMAL:
            return decimal.Decimal(str(value)) if function == "avg" else from_db(column, value)
        if function == "sum" and kind is ScalarKind.INTEGER:
            return int(value)
        if kind in (ScalarKind.INTEGER, ScalarKind.FLOAT):
            return float(value)
        return value

    return read


def _property_reader(prop: PropertyMetadata, from_db: Callable[[ColumnInfo, Any], Any]) -> Reader:
    columns = prop.columns
    if len(columns) == 1:
        column = columns[0]
        return lambda values: from_db(column, values[0])

    def read(values: Sequence[Any]) -> Any:
        if all(v is None for v in values):
            return None
        return tuple(from_db(c, v) for c, v in zip(columns, values, strict=True))

    return read


def _entity_reader(
    readers: list[tuple[PropertyMetadata, int, int]],
    key_ranges: list[tuple[int, int]],
    start: int,
    end: int,
    from_db: Callable[[ColumnInfo, Any], Any],
) -> Callable[[Sequence[Any]], dict[str, Any] | None]:
    key_positions = [i for first, last in key_ranges for i in range(first, last)]

    def read(row: Sequence[Any]) -> dict[str, Any] | None:
        values = row[start:end]
        if all(values[i] is None for i in key_positions):
            return None  # no row on this side of a LEFT JOIN
        result: dict[str, Any] = {}
        for prop, s, e in readers:
            if prop.relation is None:
                result[prop.name] = from_db(prop.columns[0], values[s])
            else:
                parts = values[s:e]
                result[prop.name] = (
                    None
                    if all(p is None for p in parts)
                    else tuple(from_db(c, v) for c, v in zip(prop.columns, parts, strict=True))
                )
        return result

    return read


def read_rows(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows of a builder's SELECT as ``{label: value}`` dicts."""
    plan: list[tuple[str, int, int, Reader]] = []
    offset = 0
    for column in columns:
        width = len(column.elements)
        plan.append((column.label, offset, offset + width, column.read))
        offset += width
    return [{label: read(row[s:e]) for label, s, e, read in plan} for row in rows]
