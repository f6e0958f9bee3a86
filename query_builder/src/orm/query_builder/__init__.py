"""orm's shared SQL layer: SQLAlchemy Core tables, rendering, batches and the schema generator."""

from orm.query_builder.connection import SqlConnection
from orm.query_builder.driver import SqlDriver
from orm.query_builder.pool import SimplePool
from orm.query_builder.qb import (
    Exists,
    QueryBuilder,
    Raw,
    Ref,
    SubqueryColumn,
    exists,
    not_exists,
    raw,
    ref,
)
from orm.query_builder.render import SqlRenderer
from orm.query_builder.schema import SqlSchemaManager
from orm.query_builder.tables import NAMING_CONVENTION, TypeMapper, build_tables
from orm.query_builder.values import ValueConverter

__all__ = [
    "NAMING_CONVENTION",
    "Exists",
    "QueryBuilder",
    "Raw",
    "Ref",
    "SimplePool",
    "SqlConnection",
    "SqlDriver",
    "SqlRenderer",
    "SqlSchemaManager",
    "SubqueryColumn",
    "TypeMapper",
    "ValueConverter",
    "build_tables",
    "exists",
    "not_exists",
    "raw",
    "ref",
]
