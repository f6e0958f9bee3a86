"""URLs, options, server detection and SQL rendering: no server needed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from orm.core import ConfigurationError, IsolationLevel
from orm.core import redact_url as redact
from orm.core.metadata.discovery import discover
from orm.core.metadata.model import ColumnInfo, ScalarKind
from orm.core.metadata.naming import NamingStrategy
from orm.core.orm import driver_class_for
from orm.mysql import MySqlDriver, ServerInfo, parse_mysql_url, parse_server_version
from orm.mysql.server import check_supported, platform_for
from orm.mysql.types import MySqlValueConverter, strip_zeros, time_from_timedelta
from orm.query_builder import SqlSchemaManager

from ...compliance.models import LIBRARY, Sample

MARIADB = ServerInfo(mariadb=True, version=(10, 11, 6), autoinc_lock_mode=1)
MYSQL = ServerInfo(mariadb=False, version=(8, 0, 36), autoinc_lock_mode=2)


# -- URLs ----------------------------------------------------------------------------------


def test_a_full_url_is_split_into_its_parts() -> None:
    url = parse_mysql_url("mysql://app:s%40cr%3At@db.example.com:3307/shop?charset=utf8mb4")
    assert (url.scheme, url.host, url.port, url.user, url.database) == (
        "mysql",
        "db.example.com",
        3307,
        "app",
        "shop",
    )
    assert url.password == "s@cr:t"
    assert url.unix_socket is None
    assert "s@cr:t" not in repr(url) and "s@cr:t" not in url.describe()


def test_defaults_and_other_schemes() -> None:
    url = parse_mysql_url("mariadb://root@localhost/db")
    assert (url.scheme, url.port, url.password) == ("mariadb", 3306, None)
    assert parse_mysql_url("mysql+aiomysql://u@h/d").scheme == "mysql"
    assert parse_mysql_url("mysql://h").database is None


def test_unix_sockets() -> None:
    url = parse_mysql_url("mysql://root@localhost/db?unix_socket=/run/mysqld/mysqld.sock")
    assert url.unix_socket == "/run/mysqld/mysqld.sock"
    assert "unix socket /run/mysqld/mysqld.sock" in url.describe()
    encoded = parse_mysql_url("mysql://root@%2Frun%2FMySQLd%2Fmysqld.sock/db")
    assert encoded.unix_socket == "/run/MySQLd/mysqld.sock"
    assert encoded.database == "db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u@h/d", "not a MySQL/MariaDB URL"),
        ("mysql://u@h/d?sslmode=require", "unknown URL parameter(s) sslmode; known: charset"),
        ("mysql://u@h:port/d", "port must be a number"),
        ("mysql://u@h/d/extra", "just the database name"),
        ("mysql://u@h/d?ssl=maybe", "ssl must be true or false"),
    ],
)
def test_bad_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_mysql_url(url)


def test_redact_hides_the_password() -> None:
    assert redact("mysql://app:secret@h:3306/db") == "mysql://app:***@h:3306/db"
    assert redact("mysql://h/db") == "mysql://h/db"


def test_the_entry_points_select_this_driver() -> None:
    assert driver_class_for("mysql://root@localhost/db") is MySqlDriver
    assert driver_class_for("mariadb://root@localhost/db") is MySqlDriver


# -- options -------------------------------------------------------------------------------


def test_options_and_url_parameters_are_merged() -> None:
    driver = MySqlDriver.from_url(
        "mysql://u@h/d?connect_timeout=3&collation=utf8mb4_unicode_ci",
        pool_min_size=0,
        pool_max_size=3,
        acquire_timeout=0.5,
        pool_recycle=60,
    )
    options = driver.options
    assert (options.pool_min_size, options.pool_max_size) == (0, 3)
    assert (options.connect_timeout, options.acquire_timeout, options.pool_recycle) == (
        3.0,
        0.5,
        60,
    )
    assert options.charset == "utf8mb4"
    assert driver.collation == "utf8mb4_unicode_ci"
    assert (
        MySqlDriver.from_url(
            "mysql://u@h/d?connect_timeout=3", connect_timeout=9
        ).options.connect_timeout
        == 9
    )


def test_unknown_options_name_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        MySqlDriver.from_url("mysql://u@h/d", pool_size=3)
    message = str(caught.value)
    assert "pool_size" in message
    for known in (
        "pool_min_size",
        "pool_max_size",
        "connect_timeout",
        "pool_recycle",
        "acquire_timeout",
        "charset",
    ):
        assert known in message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pool_max_size": 0}, "pool_max_size must be an integer >= 1"),
        ({"pool_min_size": 5, "pool_max_size": 2}, "pool_min_size (5) is larger"),
        ({"acquire_timeout": 0}, "acquire_timeout must be a positive number"),
        ({"connect_timeout": -1}, "connect_timeout must be a positive number"),
        ({"charset": "utf8mb4; DROP"}, "not a character set name"),
    ],
)
def test_invalid_option_values(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        MySqlDriver.from_url("mysql://u@h/d", **options)


# -- the server ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.11.6-MariaDB-0+deb12u1", (True, (10, 11, 6))),
        ("5.5.5-10.5.23-MariaDB-log", (True, (10, 5, 23))),
        ("8.0.36", (False, (8, 0, 36))),
        ("8.4.0-commercial", (False, (8, 4, 0))),
    ],
)
def test_server_versions(text: str, expected: tuple[bool, tuple[int, int, int]]) -> None:
    assert parse_server_version(text) == expected


def test_old_servers_are_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"MySQL 8\.0\+ and MariaDB 10\.5\+"):
        check_supported(ServerInfo(mariadb=False, version=(5, 7, 44)))
    with pytest.raises(ConfigurationError, match=r"MariaDB 10\.4\.0"):
        check_supported(ServerInfo(mariadb=True, version=(10, 4, 0)))
    check_supported(MARIADB)
    check_supported(MYSQL)


def test_platforms_differ_by_server() -> None:
    mariadb, mysql = platform_for(MARIADB), platform_for(MYSQL)
    assert (mariadb.name, mariadb.returning, mariadb.native_json) == ("mariadb", True, False)
    assert (mysql.name, mysql.returning, mysql.native_json) == ("mysql", False, True)
    assert not platform_for(MARIADB, returning=False).returning
    for platform in (mariadb, mysql):
        assert platform.lock_modes and platform.skip_locked and platform.native_upsert
        assert not platform.transactional_ddl
        assert set(platform.isolation_levels) == set(IsolationLevel)
    assert not platform_for(ServerInfo(mariadb=True, version=(10, 5, 9))).skip_locked


def test_consecutive_insert_ids_follow_the_lock_mode() -> None:
    driver = MySqlDriver.from_url("mysql://u@h/d")
    for mode, expected in ((0, True), (1, True), (2, False), (None, False)):
        driver._apply_server(ServerInfo(mariadb=False, version=(8, 0, 36), autoinc_lock_mode=mode))
        assert driver.consecutive_insert_ids is expected
    forced = MySqlDriver.from_url("mysql://u@h/d", consecutive_insert_ids=True)
    forced._apply_server(MYSQL)
    assert forced.consecutive_insert_ids
    stepped = ServerInfo(mariadb=False, version=(8, 0, 36), auto_increment_increment=5)
    driver._apply_server(stepped)
    assert driver.auto_increment_step == 5


def test_collations() -> None:
    driver = MySqlDriver.from_url("mariadb://u@h/d")
    assert driver.collation == "utf8mb4_nopad_bin"
    driver._apply_server(MYSQL)
    assert driver.collation == "utf8mb4_0900_bin"
    assert MySqlDriver.from_url("mysql://u@h/d", charset="latin1").collation == "latin1_bin"


# -- SQL -----------------------------------------------------------------------------------


def _prepared(server: ServerInfo, **options: object) -> MySqlDriver:
    driver = MySqlDriver.from_url("mysql://u@h/d", **options)
    driver._apply_server(server)
    metadata = discover([*LIBRARY, Sample], NamingStrategy())
    driver.prepare(list(metadata.values()))
    return driver


def _sql(driver: MySqlDriver, statement: sa.sql.ClauseElement) -> str:
    return driver.compile(statement)[0]


def test_mariadb_renders_insert_returning() -> None:
    driver = _prepared(MARIADB)
    table = driver.tables["author"]
    statement = sa.insert(table).values([{"name": "x", "email": "y"}, {"name": "z", "email": "w"}])
    assert _sql(driver, statement.returning(table.c.id)) == (
        "INSERT INTO author (name, email) VALUES (%s, %s), (%s, %s) RETURNING author.id"
    )


def test_upsert_syntax_per_server() -> None:
    from orm.core.driver import UpsertBatch

    for server, fragment in ((MARIADB, "VALUES(name)"), (MYSQL, "new.name")):
        driver = _prepared(server)
        meta = next(e for e in driver._entities if e.table == "author")
        batch = UpsertBatch(
            meta,
            (meta.properties["name"], meta.properties["email"]),
            [{"name": "a", "email": "a@x"}],
            conflict=(meta.properties["email"],),
            update=(meta.properties["name"],),
        )
        sql = _sql(driver, driver.renderer.upsert(batch, returning=False))
        assert "ON DUPLICATE KEY UPDATE" in sql and fragment in sql, sql


def test_locks_per_server() -> None:
    from orm.core.query.ast import LockMode, SelectQuery

    for server, write, read in (
        (MARIADB, "FOR UPDATE NOWAIT", "LOCK IN SHARE MODE SKIP LOCKED"),
        (MYSQL, "FOR UPDATE OF e0 NOWAIT", "FOR SHARE OF e0 SKIP LOCKED"),
    ):
        driver = _prepared(server)
        meta = next(e for e in driver._entities if e.table == "author")
        statement, _ = driver.renderer.select(
            SelectQuery(meta, lock_mode=LockMode.PESSIMISTIC_WRITE, lock_nowait=True)
        )
        assert _sql(driver, statement).endswith(write)
        statement, _ = driver.renderer.select(
            SelectQuery(meta, lock_mode=LockMode.PESSIMISTIC_READ, lock_skip_locked=True)
        )
        assert _sql(driver, statement).endswith(read)


def test_ddl_types_and_table_options() -> None:
    driver = _prepared(MARIADB)
    schema = driver.schema
    assert isinstance(schema, SqlSchemaManager)
    statements = schema.create_statements()
    sample = next(s for s in statements if s.startswith("CREATE TABLE sample"))
    for fragment in (
        "id CHAR(32) NOT NULL",
        "amount NUMERIC(12, 4) NOT NULL",
        "at DATETIME(6)",
        "clock TIME(6)",
        "`blob` LONGBLOB",
        "flag BOOL NOT NULL",
        "data JSON",
        "CHECK (color IN ('red', 'green', 'blue'))",
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin",
    ):
        assert fragment in sample, (fragment, sample)
    assert "CONSTRAINT pk_" not in sample  # MySQL ignores primary key names (with a warning)
    assert driver.drop_statements([driver.tables["author"]]) == [
        "SET FOREIGN_KEY_CHECKS = 0",
        "DROP TABLE IF EXISTS author",
        "SET FOREIGN_KEY_CHECKS = 1",
    ]


def test_default_decimal_precision() -> None:
    driver = _prepared(MARIADB)
    column = ColumnInfo(name="n", kind=ScalarKind.DECIMAL, nullable=True)
    assert str(driver.types.column_type(column).compile(driver.dialect)) == "NUMERIC(38, 10)"


def test_begin_statements() -> None:
    driver = MySqlDriver.from_url("mysql://u@h/d")
    assert driver.begin_statements(None) == ["START TRANSACTION"]
    assert driver.begin_statements(IsolationLevel.READ_COMMITTED) == [
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "START TRANSACTION",
    ]


# -- values --------------------------------------------------------------------------------


def test_aware_datetimes_are_stored_as_utc() -> None:
    values = MySqlValueConverter()
    aware_column = ColumnInfo(name="at", kind=ScalarKind.DATETIME, nullable=True)
    naive_column = ColumnInfo(name="at", kind=ScalarKind.DATETIME, nullable=True, timezone=False)
    berlin = dt.timezone(dt.timedelta(hours=2))
    written = dt.datetime(2024, 3, 31, 1, 59, 59, 123456, tzinfo=berlin)
    stored = values.to_db(aware_column, written)
    assert stored == dt.datetime(2024, 3, 30, 23, 59, 59, 123456) and stored.tzinfo is None
    loaded = values.from_db(aware_column, stored)
    assert loaded == written and loaded.tzinfo is dt.UTC
    naive = dt.datetime(2024, 1, 1, 12, 0, 0, 1)
    assert values.from_db(naive_column, values.to_db(naive_column, naive)) == naive


def test_time_and_decimal_values() -> None:
    assert time_from_timedelta(
        dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=9)
    ) == dt.time(23, 59, 59, 9)
    with pytest.raises(ValueError, match="outside"):
        time_from_timedelta(dt.timedelta(hours=25))
    assert strip_zeros(Decimal("1.5000000000")) == Decimal("1.5")
    assert str(strip_zeros(Decimal("100.0000000000"))) == "100"
    assert str(strip_zeros(Decimal("0E-10"))) == "0"
    values = MySqlValueConverter()
    column = ColumnInfo(name="n", kind=ScalarKind.DECIMAL, nullable=True)
    assert values.to_db(column, Decimal("1E+3")) == "1000"
