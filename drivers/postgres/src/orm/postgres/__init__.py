"""orm's PostgreSQL driver (asyncpg). Selected by ``postgresql://`` or ``postgres://`` URLs.

See docs/drivers/postgres.md for URL forms, pool options, type mapping and known differences.
"""

from orm.postgres.connection import PostgresConnection
from orm.postgres.driver import PostgresDriver
from orm.postgres.render import PostgresRenderer
from orm.postgres.types import PostgresTypeMapper, PostgresValueConverter
from orm.postgres.url import PoolOptions, PostgresUrl, parse_postgres_url, pool_options

__all__ = [
    "PoolOptions",
    "PostgresConnection",
    "PostgresDriver",
    "PostgresRenderer",
    "PostgresTypeMapper",
    "PostgresUrl",
    "PostgresValueConverter",
    "parse_postgres_url",
    "pool_options",
]
