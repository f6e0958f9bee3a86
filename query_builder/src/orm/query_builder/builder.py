"""The low-level query builder of the SQL drivers: ``em.create_query_builder(Book, "b")``.

A mutable, chainable description of one statement, rendered with SQLAlchemy Core when it runs
(see :mod:`orm.query_builder.qb_render`). Strings name properties, aliases and aggregates and
are validated against the metadata; values are always bound parameters; hand-written SQL goes
through :func:`~orm.query_builder.raw.raw` only. See docs/query-builder.md.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar

import sqlalchemy as sa

from orm.core.collection import Collection
from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.query_builder import qb_render
from orm.query_builder.connection import SqlConnection
from orm.query_builder.expressions import parse_expression, parse_item
from orm.query_builder.qb_render import RESERVED_ALIAS, EntitySlot, SubqueryColumn
from orm.query_builder.raw import IDENTIFIER, Raw, check_label

if TYPE_CHECKING:
    from orm.core.driver import Connection
    from orm.core.entity_manager import EntityManager
    from orm.query_builder.driver import SqlDriver
    from orm.query_builder.render import SqlRenderer

T = TypeVar("T")
QueryType = Literal["select", "count", "insert", "update", "delete", "truncate"]
ExecuteMode = Literal["all", "get", "run"]
Statement = sa.Select[Any] | sa.Insert | sa.Update | sa.Delete | qb_render.Truncate
_DIRECTIONS = {"asc": False, "ascending": False, "desc": True, "descending": True}


@dataclass(frozen=True)
class JoinSpec:
    alias: str
    parent: str
    prop: PropertyMetadata
    left: bool
    fetch: bool
    condition: Any = None


class QueryBuilder(Generic[T]):
    """Build one SQL statement for entity ``T`` under the alias ``alias``.

    Methods that describe the statement return the builder, so calls chain; the ``get_*``
    and ``execute`` coroutines run it on the EntityManager's connection (its transaction if
    one is open). ``insert``/``update``/``delete``/``truncate`` write straight to the table,
    bypassing the unit of work: entities already loaded in the fork are not changed.
    """

    def __init__(
        self, em: EntityManager, driver: SqlDriver, meta: EntityMetadata, alias: str
    ) -> None:
        _check_alias(alias)
        self._em = em
        self._driver = driver
        self._meta = meta
        self._alias = alias
        self._type: QueryType = "select"
        self._select: list[Any] = []
        self._distinct = False
        self._joins: list[JoinSpec] = []
        self._aliases: dict[str, EntityMetadata] = {alias: meta}
        self._fetched: set[str] = {alias}
        self._where: list[tuple[str, Any]] = []
        self._group_by: list[str | Raw] = []
        self._having: list[tuple[str, Any]] = []
        self._order_by: list[tuple[str | Raw, bool, bool | None]] = []
        self._limit: int | None = None
        self._offset: int | None = None
        self._rows: list[Mapping[str, Any]] = []
        self._values: Mapping[str, Any] = {}
        self._count_field: str | None = None
        self._count_distinct = False

    @property
    def alias(self) -> str:
        return self._alias

    @property
    def type(self) -> QueryType:
        return self._type

    def clone(self) -> QueryBuilder[T]:
        """An independent copy (same EntityManager) to change without touching this one."""
        other = copy.copy(self)
        for name in ("_select", "_joins", "_where", "_group_by", "_having", "_order_by", "_rows"):
            setattr(other, name, list(getattr(self, name)))
        other._aliases = dict(self._aliases)
        other._fetched = set(self._fetched)
        return other

    # -- SELECT ----------------------------------------------------------------------------

    def select(self, *fields: Any, distinct: bool = False) -> Self:
        """Choose the columns: ``"b.title"``, ``"b.author"`` (the key), ``"a.name"``, ``"*"``,
        ``"a.*"``, ``"count(b.id) as n"`` (count/sum/avg/min/max), ``raw("... as x")``,
        ``subquery_builder.as_("x")``. A single list also works: ``select(["b.id", ...])``."""
        self._set_type("select")
        self._select = []
        self.add_select(*fields)
        if distinct:
            self._distinct = True
        return self

    def add_select(self, *fields: Any) -> Self:
        if len(fields) == 1 and isinstance(fields[0], (list, tuple)):
            fields = tuple(fields[0])
        if not fields:
            raise ValidationError("select() needs at least one column, e.g. select('*')")
        for spec in fields:
            if isinstance(spec, str):
                parse_item(spec, where="select")  # syntax errors now; names when it runs
            elif not isinstance(spec, (Raw, SubqueryColumn)):
                raise ValidationError(
                    f"select() takes property paths, aggregates, raw() or subquery.as_(), got "
                    f"{spec!r}"
                )
            self._select.append(spec)
        return self

    def distinct(self) -> Self:
        """SELECT DISTINCT."""
        self._distinct = True
        return self

    def count(self, field: str | None = None, *, distinct: bool = False) -> Self:
        """Make this a count query: ``execute("get")`` returns ``{"count": n}``. Without a
        field it counts the distinct root entities the filter matches (as get_count())."""
        self._set_type("count")
        if field is not None:
            parse_expression(field, where="count")
        self._count_field = field
        self._count_distinct = distinct
        return self

    # -- joins -----------------------------------------------------------------------------

    def join(self, path: str, alias: str, condition: Any = None) -> Self:
        """INNER JOIN a relation of an alias: ``join("b.author", "a")``, ``join("a.books",
        "b")``, ``join("b.tags", "t")`` (through the pivot table). ``condition`` (a filter
        dict on the joined alias, or raw()) is added to the ON clause."""
        return self._join(path, alias, condition, left=False, fetch=False)

    def inner_join(self, path: str, alias: str, condition: Any = None) -> Self:
        return self.join(path, alias, condition)

    def left_join(self, path: str, alias: str, condition: Any = None) -> Self:
        """LEFT OUTER JOIN; see :meth:`join`."""
        return self._join(path, alias, condition, left=True, fetch=False)

    def join_and_select(self, path: str, alias: str, condition: Any = None) -> Self:
        """INNER JOIN and load the joined entities into their references and collections
        (``get_result_list()``); only roots with a match are returned."""
        return self._join(path, alias, condition, left=False, fetch=True)

    def left_join_and_select(self, path: str, alias: str, condition: Any = None) -> Self:
        """LEFT JOIN and load the joined entities into their references and collections;
        roots without a match get None or an empty collection. A ``condition`` on a to-many
        join fills the collection with the matching items only."""
        return self._join(path, alias, condition, left=True, fetch=True)

    def _join(self, path: str, alias: str, condition: Any, *, left: bool, fetch: bool) -> Self:
        if not isinstance(path, str):
            raise ValidationError(f"join() takes a path such as 'b.author', got {path!r}")
        names = [part.strip() for part in path.split(".")]
        if len(names) == 1:
            names.insert(0, self._alias)
        if len(names) != 2 or not all(IDENTIFIER.match(n) for n in names):
            raise ValidationError(
                f"join({path!r}): write '<alias>.<relation>', e.g. '{self._alias}.author'; join "
                f"deeper relations from the new alias"
            )
        parent, relation = names
        meta = self._aliases.get(parent)
        if meta is None:
            raise ValidationError(
                f"join({path!r}): unknown alias {parent!r}; known aliases: "
                f"{', '.join(self._aliases)}"
            )
        prop = meta.properties.get(relation)
        if prop is None or prop.target is None:
            relations = [p.name for p in meta.properties.values() if p.target is not None]
            what = "no property" if prop is None else "no relation"
            raise ValidationError(
                f"join({path!r}): {meta.class_name} has {what} {relation!r}; its relations: "
                f"{', '.join(relations) or 'none'}"
            )
        _check_alias(alias)
        if alias in self._aliases:
            raise ValidationError(f"join({path!r}, {alias!r}): the alias {alias!r} is taken")
        if fetch and parent not in self._fetched:
            raise ValidationError(
                f"join_and_select({path!r}): {parent!r} is joined without being selected, so "
                f"its {relation} cannot be filled; use join_and_select for {parent!r} too"
            )
        if condition is not None and not isinstance(condition, (Mapping, Raw)):
            raise ValidationError(
                f"join({path!r}): the condition is a filter dict or raw(), got {condition!r}"
            )
        self._aliases[alias] = prop.target
        if fetch:
            self._fetched.add(alias)
        self._joins.append(JoinSpec(alias, parent, prop, left, fetch, condition))
        return self

    # -- WHERE / HAVING --------------------------------------------------------------------

    def where(self, condition: Any) -> Self:
        """Replace the condition: a filter dict (keys may be ``'<alias>.<property>'``),
        ``raw("...", params)``, ``exists(subquery)`` / ``not_exists(subquery)``, a primary key
        or an entity."""
        self._where = [("and", _condition(condition, "where"))]
        return self

    def and_where(self, condition: Any) -> Self:
        self._where.append(("and", _condition(condition, "and_where")))
        return self

    def or_where(self, condition: Any) -> Self:
        """``(everything so far) OR condition``."""
        self._where.append(("or", _condition(condition, "or_where")))
        return self

    def group_by(self, *fields: str | Raw) -> Self:
        """GROUP BY property paths (a relation groups by its key), select labels or raw()."""
        if len(fields) == 1 and isinstance(fields[0], (list, tuple)):
            fields = tuple(fields[0])
        for spec in fields:
            _check_key(spec, "group_by")
        self._group_by = list(fields)
        return self

    def having(self, condition: Any) -> Self:
        """HAVING: ``{"count(b.id)": {"$gt": 1}}``, ``{"n": {"$gte": 2}}`` (a select label),
        property filters as in where(), or raw()."""
        self._having = [("and", _condition(condition, "having"))]
        return self

    def and_having(self, condition: Any) -> Self:
        self._having.append(("and", _condition(condition, "and_having")))
        return self

    def or_having(self, condition: Any) -> Self:
        self._having.append(("or", _condition(condition, "or_having")))
        return self

    # -- ORDER BY / LIMIT ------------------------------------------------------------------

    def order_by(self, *orders: Mapping[Any, Any]) -> Self:
        """Replace the order: ``{"b.title": "asc", "a.name": "desc nulls last"}``; keys are
        paths (of any alias), select labels, aggregates, nested to-one dicts
        (``{"author": {"name": "asc"}}``) or raw(); directions ``asc``/``desc`` (or 1/-1),
        optionally followed by ``nulls first``/``nulls last``."""
        self._order_by = []
        for order in orders:
            self.add_order_by(order)
        return self

    def add_order_by(self, order: Mapping[Any, Any]) -> Self:
        if not isinstance(order, Mapping):
            raise ValidationError(
                f"order_by() takes dicts such as {{'b.title': 'asc'}}, got {order!r}"
            )
        for key, direction in order.items():
            self._add_order(key, direction)
        return self

    def _add_order(self, key: Any, direction: Any) -> None:
        if isinstance(direction, Mapping):
            if not isinstance(key, str):
                raise ValidationError(f"order_by: nested orders need a relation name, got {key!r}")
            for inner, inner_direction in direction.items():
                if not isinstance(inner, str):
                    raise ValidationError(f"order_by: expected a property name, got {inner!r}")
                self._add_order(f"{key}.{inner}", inner_direction)
            return
        _check_key(key, "order_by")
        self._order_by.append((key, *_direction(key, direction)))

    def limit(self, limit: int | None) -> Self:
        self._limit = _non_negative("limit", limit)
        return self

    def offset(self, offset: int | None) -> Self:
        self._offset = _non_negative("offset", offset)
        return self

    # -- INSERT / UPDATE / DELETE / TRUNCATE -----------------------------------------------

    def insert(self, data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Self:
        """INSERT one row or many (one statement). Keys are property names; relations take
        entities or keys; defaults of the entity apply to missing properties. Bypasses the unit
        of work: no entity is created or tracked."""
        self._set_type("insert")
        rows = [data] if isinstance(data, Mapping) else list(data)
        for row in rows:
            if not isinstance(row, Mapping):
                raise ValidationError(f"insert() takes dicts of property values, got {row!r}")
        self._rows = rows
        return self

    def update(self, data: Mapping[str, Any]) -> Self:
        """UPDATE the rows matching where() with ``{property: value}`` (values may be
        ``raw("age + :n", {"n": 1})``). Bypasses the unit of work: loaded entities keep their
        old values until refreshed."""
        if not isinstance(data, Mapping) or not data:
            raise ValidationError(f"update() takes a non-empty dict of property values: {data!r}")
        self._set_type("update")
        self._values = dict(data)
        return self

    def delete(self, condition: Any = None) -> Self:
        """DELETE the rows matching where() (or ``condition``). Bypasses the unit of work: no
        cascade, and loaded entities stay in the identity map."""
        self._set_type("delete")
        if condition is not None:
            self.where(condition)
        return self

    def truncate(self) -> Self:
        """Remove every row of the table (TRUNCATE; DELETE on SQLite)."""
        self._set_type("truncate")
        return self

    def _set_type(self, kind: QueryType) -> None:
        if self._type != "select" and self._type != kind:
            raise ValidationError(
                f"this query builder is already a {self._type} query; create another one for "
                f"a {kind}"
            )
        self._type = kind

    # -- subqueries ------------------------------------------------------------------------

    def as_(self, label: str) -> SubqueryColumn:
        """This builder as one selected column of another: ``qb.select("*", sub.as_("n"))``."""
        return SubqueryColumn(self, check_label(label))

    def __orm_expression__(self, renderer: SqlRenderer) -> sa.Select[Any]:
        """This builder as a value in a filter (``{"id": {"$in": sub}}``): its one column."""
        return qb_render.subquery(self, renderer, "column")[0]

    # -- the statement ---------------------------------------------------------------------

    def get_statement(self) -> Statement:
        """The SQLAlchemy Core statement ``execute()`` would run."""
        renderer = self._driver.renderer
        if self._type == "select":
            return qb_render.select_statement(self, renderer)[0]
        if self._type == "count":
            return self._count_statement()
        if self._type == "insert":
            statement = qb_render.insert_statement(self, renderer)
            if statement is None:
                raise ValidationError("insert() got no rows")
            return statement
        if self._type == "update":
            return qb_render.update_statement(self, renderer)
        if self._type == "delete":
            return qb_render.delete_statement(self, renderer)
        return qb_render.truncate_statement(self, renderer)

    def _count_statement(self) -> sa.Select[Any]:
        return qb_render.count_statement(
            self,
            self._driver.renderer,
            field_name=self._count_field,
            distinct=self._count_distinct,
        )

    def get_query(self) -> str:
        """The SQL with placeholders, as it is sent."""
        return self._driver.compile(self.get_statement())[0]

    def get_params(self) -> list[Any]:
        """The bound parameters of :meth:`get_query`, in order."""
        return self._driver.compile(self.get_statement())[1]

    def get_formatted_query(self) -> str:
        """The SQL with the parameters written in as literals: for reading and logs only
        (never run it; orm always sends the parameters separately)."""
        statement = self.get_statement()
        try:
            compiled = statement.compile(
                dialect=self._driver.dialect,
                compile_kwargs={"literal_binds": True, "render_postcompile": True},
            )
            sql = str(compiled)
        except Exception:  # a value without a literal form: show the parameters apart
            sql, params = self._driver.compile(statement)
            return f"{sql}\n-- parameters: {params!r}"
        if self._driver.dialect.paramstyle in ("format", "pyformat"):
            sql = sql.replace("%%", "%")  # no placeholders left: "%%" only escaped a "%"
        return sql

    def __str__(self) -> str:
        return self.get_formatted_query()

    def __repr__(self) -> str:
        return f"<QueryBuilder {self._type} {self._meta.class_name} as {self._alias}>"

    # -- running ---------------------------------------------------------------------------

    async def _fetch(self, statement: Statement) -> list[Sequence[Any]]:
        table = self._meta.table

        async def operation(connection: Connection) -> list[Sequence[Any]]:
            return await _sql(connection).fetch(statement, table=table)

        return await self._em._read(operation)

    async def _run(self, statement: Statement) -> int:
        table = self._meta.table

        async def operation(connection: Connection) -> int:
            return await _sql(connection).run(statement, table=table)

        return await self._em._read(operation)

    async def execute(self, mode: ExecuteMode | None = None) -> Any:
        """Run the statement. ``"all"``: a list of ``{column: value}`` dicts (the default for
        select/count); ``"get"``: the first dict or None; ``"run"``: the affected row count
        (the default for insert/update/delete/truncate)."""
        writes = self._type in ("insert", "update", "delete", "truncate")
        mode = mode or ("run" if writes else "all")
        if mode not in ("all", "get", "run"):
            raise ValidationError(f"execute() takes 'all', 'get' or 'run', got {mode!r}")
        if writes:
            if mode != "run":
                raise ValidationError(
                    f"a {self._type} query returns no rows; use execute('run') for the number "
                    f"of affected rows"
                )
            if self._type == "insert" and not self._rows:
                return 0
            return await self._run(self.get_statement())
        if mode == "run":
            return await self._run(self.get_statement())
        if self._type == "count":
            rows = await self._fetch(self._count_statement())
            result = [{"count": int(row[0])} for row in rows]
        else:
            statement, columns = qb_render.select_statement(self, self._driver.renderer)
            if mode == "get" and self._limit is None:
                statement = statement.limit(1)
            result = qb_render.read_rows(columns, await self._fetch(statement))
        if mode == "get":
            return result[0] if result else None
        return result

    async def get_count(self) -> int:
        """How many root entities (or groups, with group_by) match, ignoring limit/offset."""
        if self._type not in ("select", "count"):
            raise ValidationError(f"get_count() runs select queries; this is a {self._type}")
        rows = await self._fetch(qb_render.count_statement(self, self._driver.renderer))
        return int(rows[0][0]) if rows else 0

    async def get_result_list(self) -> list[T]:
        """The matching root entities, merged into the fork's identity map (an entity already
        loaded keeps its unflushed changes); ``join_and_select`` aliases fill their
        references and collections. Roots are never repeated."""
        self._readable("get_result_list")
        statement, slots = qb_render.entity_statement(self, self._driver.renderer)
        rows = await self._fetch(statement)
        return self._hydrate(slots, rows)

    async def get_single_result(self) -> T | None:
        """The first entity (LIMIT 1, on root entities), or None."""
        self._readable("get_single_result")
        found = await self.clone().limit(1).get_result_list()
        return found[0] if found else None

    async def get_result_and_count(self) -> tuple[list[T], int]:
        """``(get_result_list(), get_count())``: a page and the total, in two statements."""
        return await self.get_result_list(), await self.get_count()

    def _readable(self, method: str) -> None:
        if self._type != "select":
            raise ValidationError(f"{method}() runs select queries; this is a {self._type}")

    def _hydrate(self, slots: list[EntitySlot], rows: list[Sequence[Any]]) -> list[T]:
        uow = self._em._uow
        hydrate, register = uow.hydrator.hydrate, uow.register_managed
        roots: dict[int, Any] = {}
        collections: dict[tuple[int, str], tuple[Any, PropertyMetadata, dict[int, Any]]] = {}
        inverse_ones: dict[tuple[int, str], tuple[Any, PropertyMetadata, Any]] = {}
        for row in rows:
            entities: dict[str, Any] = {}
            for slot in slots:
                data = slot.read(row)
                entity = None
                if data is not None:
                    entity = hydrate(slot.meta, data)
                    register(entity)
                entities[slot.alias] = entity
                if slot.parent is None:
                    if entity is not None:
                        roots.setdefault(id(entity), entity)
                    continue
                owner = entities.get(slot.parent)
                prop = slot.prop
                if owner is None or prop is None:
                    continue
                if prop.is_collection:
                    items = collections.setdefault((id(owner), prop.name), (owner, prop, {}))[2]
                    if entity is not None:
                        items.setdefault(id(entity), entity)
                elif not prop.owner:  # inverse OneToOne: the key is on the other side
                    inverse_ones.setdefault((id(owner), prop.name), (owner, prop, entity))
        for owner, prop, items in collections.values():
            collection: Collection[Any] = owner.__dict__[prop.name]
            if not collection.initialized:
                collection._hydrate(list(items.values()))
        for owner, prop, entity in inverse_ones.values():
            owner.__dict__.setdefault(prop.name, entity)
        return list(roots.values())


# -- helpers ---------------------------------------------------------------------------------


def _sql(connection: Connection) -> SqlConnection:
    if not isinstance(connection, SqlConnection):
        raise ValidationError("the query builder needs a SQL driver's connection")
    return connection


def _check_alias(alias: Any) -> None:
    if not isinstance(alias, str) or IDENTIFIER.match(alias) is None:
        raise ValidationError(f"an alias must be an identifier such as 'b', got {alias!r}")
    if RESERVED_ALIAS.match(alias):
        raise ValidationError(
            f"the alias {alias!r} is reserved for the joins orm adds (e0, e1, p0, ...); "
            f"choose another"
        )


def _check_key(spec: Any, where: str) -> None:
    if isinstance(spec, Raw):
        return
    if not isinstance(spec, str):
        raise ValidationError(f"{where}: expected a property path or raw(), got {spec!r}")
    parse_expression(spec, where=where)


def _condition(condition: Any, where: str) -> Any:
    if condition is None:
        raise ValidationError(f"{where}() needs a condition; to drop the filter use where({{}})")
    if isinstance(condition, str):
        raise ValidationError(
            f"{where}({condition!r}): a str is never SQL here; pass a filter dict such as "
            f"{{'b.title': ...}}, raw('...', params) for hand-written SQL, or exists(subquery)"
        )
    return condition


def _direction(key: Any, direction: Any) -> tuple[bool, bool | None]:
    if direction in (1, -1) and not isinstance(direction, bool):
        return direction == -1, None
    if isinstance(direction, str):
        text = " ".join(direction.lower().split())
        nulls_first: bool | None = None
        if " nulls " in f"{text} ":
            text, _, nulls = text.partition(" nulls ")
            if nulls not in ("first", "last"):
                raise ValidationError(
                    f"order_by {key!r}: write 'nulls first' or 'nulls last', got {direction!r}"
                )
            nulls_first = nulls == "first"
        if text in _DIRECTIONS:
            return _DIRECTIONS[text], nulls_first
    raise ValidationError(
        f"order_by {key!r}: the direction is 'asc' or 'desc' (or 1/-1), optionally followed by "
        f"'nulls first'/'nulls last'; got {direction!r}"
    )


def _non_negative(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValidationError(f"{name} must be a non-negative int, got {value!r}")
    return value
