"""What the server is (MySQL 8 or MariaDB, which version), and what follows from it.

The driver asks the server once, when the pool opens, and builds the :class:`Platform`
(capabilities) and the SQLAlchemy dialect (rendering) from the answer. SQLAlchemy normally
learns the same facts in ``dialect.initialize()`` on an engine's first connection; orm has
no engine, so :func:`build_dialect` sets those attributes itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.dialects.mysql import mariadb as sa_mariadb
from sqlalchemy.dialects.mysql import pymysql as sa_pymysql
from sqlalchemy.dialects.mysql.base import MySQLDialect

from orm.core.driver import IsolationLevel, Platform
from orm.core.errors import ConfigurationError

MIN_MYSQL = (8, 0, 0)
MIN_MARIADB = (10, 5, 0)


@dataclass(frozen=True)
class ServerInfo:
    """The server flavour and the settings that change how orm talks to it."""

    mariadb: bool
    version: tuple[int, int, int]
    version_string: str = ""
    # innodb_autoinc_lock_mode: 0 traditional, 1 consecutive, 2 interleaved (None: unknown).
    autoinc_lock_mode: int | None = None
    auto_increment_increment: int = 1
    # innodb_rollback_on_timeout: a lock wait timeout rolls back the whole transaction.
    rollback_on_timeout: bool = False

    @property
    def name(self) -> str:
        return "mariadb" if self.mariadb else "mysql"

    @property
    def label(self) -> str:
        flavour = "MariaDB" if self.mariadb else "MySQL"
        return f"{flavour} {'.'.join(map(str, self.version))}"

    @property
    def has_returning(self) -> bool:
        """INSERT ... RETURNING: MariaDB 10.5+; MySQL has none."""
        return self.mariadb and self.version >= (10, 5)

    @property
    def has_skip_locked(self) -> bool:
        """SKIP LOCKED / NOWAIT: MySQL 8.0.1+, MariaDB 10.6+."""
        return self.version >= (10, 6) if self.mariadb else self.version >= (8, 0, 1)

    @property
    def has_json_equals(self) -> bool:
        return self.mariadb and self.version >= (10, 7)


# Assumed until the pool's first connection tells the truth (MySqlDriver.connect).
ASSUMED_MARIADB = ServerInfo(mariadb=True, version=(10, 11, 0), autoinc_lock_mode=1)
ASSUMED_MYSQL = ServerInfo(mariadb=False, version=(8, 0, 36), autoinc_lock_mode=2)

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_server_version(text: str) -> tuple[bool, tuple[int, int, int]]:
    """``'10.11.6-MariaDB-1'`` -> (True, (10, 11, 6)); ``'8.0.36'`` -> (False, (8, 0, 36)).

    The MySQL protocol handshake of old MariaDB versions prefixes ``5.5.5-``; skip it.
    """
    is_mariadb = "mariadb" in text.lower()
    if is_mariadb and text.startswith("5.5.5-"):
        text = text[len("5.5.5-") :]
    match = _VERSION.search(text)
    if match is None:
        raise ConfigurationError(f"cannot read the server version from {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return is_mariadb, (major, minor, patch)


def check_supported(server: ServerInfo) -> None:
    minimum = MIN_MARIADB if server.mariadb else MIN_MYSQL
    if server.version < minimum:
        flavour = "MariaDB" if server.mariadb else "MySQL"
        raise ConfigurationError(
            f"the server is {server.label}; orm-mysql supports MySQL 8.0+ and MariaDB 10.5+. "
            f"Upgrade the server (needed: {flavour} {'.'.join(map(str, minimum))} or later)"
        )


def platform_for(server: ServerInfo, *, returning: bool | None = None) -> Platform:
    """The capabilities of ``server``; ``returning=False`` turns RETURNING off on MariaDB."""
    return Platform(
        name=server.name,
        returning=server.has_returning and returning is not False,
        transactional_ddl=False,  # every DDL statement commits implicitly
        savepoints=True,
        native_upsert=True,  # INSERT ... ON DUPLICATE KEY UPDATE
        native_ilike=False,
        lock_modes=True,
        skip_locked=server.has_skip_locked,
        isolation_levels=tuple(IsolationLevel),
        native_uuid=False,  # CHAR(32)
        native_json=not server.mariadb,  # MariaDB's JSON is LONGTEXT + CHECK (json_valid(...))
        timezone_aware_datetime=False,  # DATETIME(6) holds UTC; no time zone is stored
        # pymysql interpolates parameters client-side, so the limit is max_allowed_packet;
        # stay at the server-side prepared statement limit all the same.
        max_parameters=65_535,
        concurrent_connections=True,
        # Unbuffered results (SSCursor); they block their connection until read, so
        # em.stream uses them only on a connection of its own (keyset batches in a transaction).
        server_side_cursors=True,
        joined_loading=True,
    )


def build_dialect(server: ServerInfo) -> MySQLDialect:
    """A SQLAlchemy MySQL/MariaDB dialect (``%s`` parameters) initialised for ``server``."""
    dialect: MySQLDialect
    if server.mariadb:
        dialect = sa_mariadb.loader("pymysql")(paramstyle="format")
    else:
        dialect = sa_pymysql.MySQLDialect_pymysql(paramstyle="format")
    version = server.version
    dialect.server_version_info = version
    dialect.default_schema_name = None
    if server.mariadb:
        # what MariaDBShim._initialize_mariadb sets
        dialect.insert_returning = version >= (10, 5)
        dialect.delete_returning = True
        dialect.supports_sequences = True
        dialect._support_default_function = True
        dialect._support_float_cast = version >= (10, 4, 5)
        # FOR UPDATE OF <table> does not exist on MariaDB
        dialect.supports_for_update_of = False
        dialect.use_mysql_for_share = False
    else:
        # what MySQLDialect._initialize_mysql sets
        dialect.insert_returning = False
        dialect.supports_for_update_of = True
        dialect.use_mysql_for_share = version >= (8, 0, 1)
        dialect._requires_alias_for_on_duplicate_key = version >= (8, 0, 20)
        dialect._support_default_function = version >= (8, 0, 13)
        dialect._support_float_cast = version >= (8, 0, 17)
    return dialect
