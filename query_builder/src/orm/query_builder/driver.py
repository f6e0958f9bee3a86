"""The base of every SQL driver: tables, rendering, compilation, schema, error translation."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import Compiled, SQLCompiler

from orm.core.driver import Driver, IsolationLevel, Platform, SchemaManager
from orm.core.errors import DriverError, ValidationError
from orm.core.metadata.model import EntityMetadata
from orm.query_builder.multirow import InsertTemplate, build_template
from orm.query_builder.render import SqlRenderer
from orm.query_builder.schema import SqlSchemaManager
from orm.query_builder.tables import TypeMapper, build_tables
from orm.query_builder.values import ValueConverter

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager
    from orm.query_builder.qb.builder import QueryBuilder


# Compiled statements kept per driver (oldest evicted first).
COMPILED_CACHE_SIZE = 1000

# The SQL spelling of each isolation level (the core's enum holds neutral values).
SQL_ISOLATION_LEVELS: dict[IsolationLevel, str] = {
    IsolationLevel.READ_UNCOMMITTED: "READ UNCOMMITTED",
    IsolationLevel.READ_COMMITTED: "READ COMMITTED",
    IsolationLevel.REPEATABLE_READ: "REPEATABLE READ",
    IsolationLevel.SERIALIZABLE: "SERIALIZABLE",
}


class SqlDriver(Driver):
    """Drivers set ``platform``, ``dialect`` and override the type/value/renderer factories."""

    platform: Platform
    # Distance between consecutive generated ids (MySQL's auto_increment_increment).
    auto_increment_step = 1
    # Put every foreign key in CREATE TABLE (SQLite cannot add one later with ALTER TABLE).
    inline_foreign_keys = False

    def __init__(self) -> None:
        self.types = self.create_type_mapper()
        self.values = self.create_value_converter()
        self._entities: list[EntityMetadata] = []
        self._tables: dict[str, sa.Table] = {}
        self._metadata = sa.MetaData()
        self._renderer: SqlRenderer | None = None
        self._schema: SqlSchemaManager | None = None
        self._compiled: dict[Any, Compiled] = {}
        self._insert_templates: dict[
            tuple[str, tuple[str, ...], tuple[str, ...]], InsertTemplate
        ] = {}

    # -- factories drivers override --------------------------------------------------------

    @property
    @abc.abstractmethod
    def dialect(self) -> Dialect: ...

    def create_type_mapper(self) -> TypeMapper:
        return TypeMapper()

    def create_value_converter(self) -> ValueConverter:
        return ValueConverter()

    def create_renderer(self, tables: dict[str, sa.Table]) -> SqlRenderer:
        return SqlRenderer(tables, self.values)

    @abc.abstractmethod
    def translate_error(self, exc: Exception, *, sql: str, table: str | None) -> DriverError:
        """Convert a native exception into an ``orm.core.errors`` exception."""

    def begin_statements(self, isolation_level: IsolationLevel | None) -> list[str]:
        if isolation_level is None:
            return ["BEGIN"]
        level = SQL_ISOLATION_LEVELS[isolation_level]
        if isolation_level not in self.platform.isolation_levels:
            raise ValidationError(
                f"{self.platform.name} does not support isolation level {level} "
                f"(IsolationLevel.{isolation_level.name})"
            )
        return [f"BEGIN ISOLATION LEVEL {level}"]

    def drop_statements(self, tables: Sequence[sa.Table]) -> list[str]:
        """DROP statements for ``tables``, given referencing tables first."""
        preparer = self.dialect.identifier_preparer
        return [f"DROP TABLE IF EXISTS {preparer.format_table(t)}" for t in tables]

    # -- shared ----------------------------------------------------------------------------

    def prepare(self, entities: Sequence[EntityMetadata]) -> None:
        """Build tables and the renderer for the discovered entities (part of ``connect``)."""
        self._entities = list(entities)
        self._metadata, self._tables = build_tables(self._entities, self.types)
        self._renderer = self.create_renderer(self._tables)
        self._schema = SqlSchemaManager(self, self._metadata)

    @property
    def tables(self) -> dict[str, sa.Table]:
        return self._tables

    @property
    def renderer(self) -> SqlRenderer:
        assert self._renderer is not None, "the driver is not connected; call ORM.init"
        return self._renderer

    @property
    def schema(self) -> SchemaManager:
        assert self._schema is not None, "the driver is not connected; call ORM.init"
        return self._schema

    def create_query_builder(
        self, em: EntityManager, meta: EntityMetadata, alias: str
    ) -> QueryBuilder[Any]:
        """What ``em.create_query_builder(Entity, alias)`` returns (docs/query-builder.md)."""
        from orm.query_builder.qb.builder import QueryBuilder

        return QueryBuilder(em, self, meta, alias)

    def compile(self, statement: sa.sql.ClauseElement) -> tuple[str, list[Any]]:
        """SQL text and positional parameters; compiled forms are cached by statement shape.

        SQLAlchemy's cache key describes a statement without its parameter values (the way its
        own Engine caches); IN lists are expanded per call, so one entry serves every length.
        """
        cache_key = statement._generate_cache_key()
        if cache_key is None:
            return self.compile_once(statement)
        cached = self._compiled.get(cache_key.key)
        if cached is None:
            cached = statement.compile(dialect=self.dialect, cache_key=cache_key)
            if len(self._compiled) >= COMPILED_CACHE_SIZE:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[cache_key.key] = cached
        assert isinstance(cached, SQLCompiler)
        values = cached.construct_params(extracted_parameters=cache_key.bindparams)
        expanded = cached.construct_expanded_state(values)
        return expanded.statement, list(expanded.positional_parameters)

    def compile_once(self, statement: sa.sql.ClauseElement) -> tuple[str, list[Any]]:
        """Compile without the cache (statements with parameters that have no value yet)."""
        compiled = statement.compile(
            dialect=self.dialect, compile_kwargs={"render_postcompile": True}
        )
        params = compiled.params
        positions: list[str] = getattr(compiled, "positiontup", None) or []
        return str(compiled), [params[name] for name in positions]

    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        returning: Sequence[str] = (),
    ) -> tuple[str, list[Any]]:
        """A multi-row INSERT of ``rows`` (values in ``columns`` order, already converted)."""
        key = (table, tuple(columns), tuple(returning))
        template = self._insert_templates.get(key)
        if template is None:
            template = build_template(
                self._tables[table], columns, returning, self.compile_once, self.dialect.paramstyle
            )
            self._insert_templates[key] = template
        return template.render(rows)

    def ddl(self, element: Any) -> str:
        return str(element.compile(dialect=self.dialect)).strip()

    def constraint_for_columns(self, table: str | None, columns: Sequence[str]) -> str | None:
        """The name of the unique constraint (or key) of ``table`` covering ``columns``."""
        sa_table = self._tables.get(table or "")
        if sa_table is None:
            return None
        wanted = set(columns)
        if {c.name for c in sa_table.primary_key.columns} == wanted:
            return str(sa_table.primary_key.name) if sa_table.primary_key.name else None
        for constraint in sa_table.constraints:
            if (
                isinstance(constraint, sa.UniqueConstraint)
                and {c.name for c in constraint.columns} == wanted
            ):
                return str(constraint.name)
        return None
