"""The low-level query builder of the SQL drivers: ``em.create_query_builder(Book, "b")``.

A mutable, chainable description of one statement (its clauses are set by
:class:`~orm.query_builder.qb.clauses.QueryClauses`), rendered with SQLAlchemy Core when it runs
(:mod:`.select`, :mod:`.writes`). Strings name properties, aliases and aggregates and are
validated against the metadata; values are always bound parameters; hand-written SQL goes
through :func:`~orm.query_builder.qb.raw.raw` only. See docs/query-builder.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import sqlalchemy as sa

from orm.core.errors import ValidationError
from orm.query_builder.connection import SqlConnection
from orm.query_builder.qb.build import subquery
from orm.query_builder.qb.clauses import QueryClauses
from orm.query_builder.qb.constructs import SubqueryColumn, Truncate
from orm.query_builder.qb.joins import hydrate_entities
from orm.query_builder.qb.raw import check_label
from orm.query_builder.qb.readers import read_rows
from orm.query_builder.qb.select import count_statement, entity_statement, select_statement
from orm.query_builder.qb.writes import (
    delete_statement,
    insert_statement,
    truncate_statement,
    update_statement,
)

if TYPE_CHECKING:
    from orm.core.driver import Connection
    from orm.query_builder.render import SqlRenderer

T = TypeVar("T")
ExecuteMode = Literal["all", "get", "run"]
Statement = sa.Select[Any] | sa.Insert | sa.Update | sa.Delete | Truncate


class QueryBuilder(QueryClauses[T]):
    """Build one SQL statement for entity ``T`` under the alias ``alias``.

    Methods that describe the statement return the builder, so calls chain; the ``get_*``
    and ``execute`` coroutines run it on the EntityManager's connection (its transaction if
    one is open). ``insert``/``update``/``delete``/``truncate`` write straight to the table,
    bypassing the unit of work: entities already loaded in the fork are not changed.
    """

    # -- subqueries ------------------------------------------------------------------------

    def as_(self, label: str) -> SubqueryColumn:
        """This builder as one selected column of another: ``qb.select("*", sub.as_("n"))``."""
        return SubqueryColumn(self, check_label(label))

    def __orm_expression__(self, renderer: SqlRenderer) -> sa.Select[Any]:
        """This builder as a value in a filter (``{"id": {"$in": sub}}``): its one column."""
        return subquery(self, renderer, "column")[0]

    # -- the statement ---------------------------------------------------------------------

    def get_statement(self) -> Statement:
        """The SQLAlchemy Core statement ``execute()`` would run."""
        renderer = self.state.driver.renderer
        if self.state.type == "select":
            return select_statement(self, renderer)[0]
        if self.state.type == "count":
            return self._count_statement()
        if self.state.type == "insert":
            statement = insert_statement(self, renderer)
            if statement is None:
                raise ValidationError("insert() got no rows")
            return statement
        if self.state.type == "update":
            return update_statement(self, renderer)
        if self.state.type == "delete":
            return delete_statement(self, renderer)
        return truncate_statement(self, renderer)

    def _count_statement(self) -> sa.Select[Any]:
        return count_statement(
            self,
            self.state.driver.renderer,
            field_name=self.state.count_field,
            distinct=self.state.count_distinct,
        )

    def get_query(self) -> str:
        """The SQL with placeholders, as it is sent."""
        return self.state.driver.compile(self.get_statement())[0]

    def get_params(self) -> list[Any]:
        """The bound parameters of :meth:`get_query`, in order."""
        return self.state.driver.compile(self.get_statement())[1]

    def get_formatted_query(self) -> str:
        """The SQL with the parameters written in as literals: for reading and logs only
        (never run it; orm always sends the parameters separately)."""
        statement = self.get_statement()
        try:
            compiled = statement.compile(
                dialect=self.state.driver.dialect,
                compile_kwargs={"literal_binds": True, "render_postcompile": True},
            )
            sql = str(compiled)
        except Exception:  # a value without a literal form: show the parameters apart
            sql, params = self.state.driver.compile(statement)
            return f"{sql}\n-- parameters: {params!r}"
        if self.state.driver.dialect.paramstyle in ("format", "pyformat"):
            sql = sql.replace("%%", "%")  # no placeholders left: "%%" only escaped a "%"
        return sql

    def __str__(self) -> str:
        return self.get_formatted_query()

    def __repr__(self) -> str:
        return (
            f"<QueryBuilder {self.state.type} {self.state.meta.class_name} as {self.state.alias}>"
        )

    # -- running ---------------------------------------------------------------------------

    async def _fetch(self, statement: Statement) -> list[Sequence[Any]]:
        table = self.state.meta.table

        async def operation(connection: Connection) -> list[Sequence[Any]]:
            return await _sql(connection).fetch(statement, table=table)

        return await self._em.connections.read(operation)

    async def _run(self, statement: Statement) -> int:
        table = self.state.meta.table

        async def operation(connection: Connection) -> int:
            return await _sql(connection).run(statement, table=table)

        return await self._em.connections.write(operation, action=f"{self.state.type}()")

    async def execute(self, mode: ExecuteMode | None = None) -> Any:
        """Run the statement. ``"all"``: a list of ``{column: value}`` dicts (the default for
        select/count); ``"get"``: the first dict or None; ``"run"``: the affected row count
        (the default for insert/update/delete/truncate)."""
        writes = self.state.type in ("insert", "update", "delete", "truncate")
        mode = mode or ("run" if writes else "all")
        if mode not in ("all", "get", "run"):
            raise ValidationError(f"execute() takes 'all', 'get' or 'run', got {mode!r}")
        if writes:
            if mode != "run":
                raise ValidationError(
                    f"a {self.state.type} query returns no rows; use execute('run') for the number "
                    f"of affected rows"
                )
            if self.state.type == "insert" and not self.state.rows:
                return 0
            return await self._run(self.get_statement())
        if mode == "run":
            return await self._run(self.get_statement())
        if self.state.type == "count":
            rows = await self._fetch(self._count_statement())
            result = [{"count": int(row[0])} for row in rows]
        else:
            statement, columns = select_statement(self, self.state.driver.renderer)
            if mode == "get" and self.state.limit is None:
                statement = statement.limit(1)
            result = read_rows(columns, await self._fetch(statement))
        if mode == "get":
            return result[0] if result else None
        return result

    async def get_count(self) -> int:
        """How many root entities (or groups, with group_by) match, ignoring limit/offset."""
        if self.state.type not in ("select", "count"):
            raise ValidationError(f"get_count() runs select queries; this is a {self.state.type}")
        rows = await self._fetch(count_statement(self, self.state.driver.renderer))
        return int(rows[0][0]) if rows else 0

    async def get_result_list(self) -> list[T]:
        """The matching root entities, merged into the fork's identity map (an entity already
        loaded keeps its unflushed changes); ``join_and_select`` aliases fill their
        references and collections. Roots are never repeated."""
        self._readable("get_result_list")
        statement, slots = entity_statement(self, self.state.driver.renderer)
        rows = await self._fetch(statement)
        return hydrate_entities(self._em, slots, rows)

    async def get_single_result(self) -> T | None:
        """The first entity (LIMIT 1, on root entities), or None."""
        self._readable("get_single_result")
        found = await self.clone().limit(1).get_result_list()
        return found[0] if found else None

    async def get_result_and_count(self) -> tuple[list[T], int]:
        """``(get_result_list(), get_count())``: a page and the total, in two statements."""
        return await self.get_result_list(), await self.get_count()

    def _readable(self, method: str) -> None:
        if self.state.type != "select":
            raise ValidationError(f"{method}() runs select queries; this is a {self.state.type}")


# -- helpers ---------------------------------------------------------------------------------


def _sql(connection: Connection) -> SqlConnection:
    if not isinstance(connection, SqlConnection):
        raise ValidationError("the query builder needs a SQL driver's connection")
    return connection
