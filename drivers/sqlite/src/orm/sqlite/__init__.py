"""orm's SQLite driver (aiosqlite). Selected by ``sqlite:///path.db`` or ``sqlite://:memory:``."""

from orm.sqlite.driver import SqliteConnection, SqliteDriver, parse_sqlite_url

__all__ = ["SqliteConnection", "SqliteDriver", "parse_sqlite_url"]
