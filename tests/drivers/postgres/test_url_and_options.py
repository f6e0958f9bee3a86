"""URLs, options, platform and compilation of the PostgreSQL driver: no server needed."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from orm.core import ConfigurationError, IsolationLevel, NamingStrategy
from orm.core.metadata.discovery import discover
from orm.core.orm import driver_class_for
from orm.core.query.ast import LockMode, SelectQuery
from orm.postgres import PoolOptions, PostgresDriver, parse_postgres_url

from ...compliance.models import LIBRARY, Author


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://ann:s3cr%40t@db.example.com:6543/shop?sslmode=require",
            {
                "host": "db.example.com",
                "port": 6543,
                "user": "ann",
                "password": "s3cr@t",
                "database": "shop",
                "sslmode": "require",
            },
        ),
        (
            "postgres://ann@localhost/shop",
            {
                "host": "localhost",
                "port": 5432,
                "user": "ann",
                "password": None,
                "database": "shop",
                "sslmode": None,
            },
        ),
        (
            "postgresql+asyncpg://ann@10.0.0.5/shop",
            {"host": "10.0.0.5", "port": 5432, "user": "ann", "database": "shop"},
        ),
        (
            "postgresql:///shop?host=/var/run/postgresql",
            {"host": "/var/run/postgresql", "port": 5432, "user": None, "database": "shop"},
        ),
        (
            "postgresql://ann@%2Fvar%2Frun%2Fpostgresql/shop",
            {"host": "/var/run/postgresql", "user": "ann", "database": "shop"},
        ),
        (
            "postgresql://[::1]:5433/shop",
            {"host": "::1", "port": 5433, "database": "shop"},
        ),
        (
            "postgresql://ann@host/shop?application_name=api&port=6000",
            {"host": "host", "port": 6000, "database": "shop"},
        ),
    ],
)
def test_url_forms(url: str, expected: dict[str, Any]) -> None:
    parsed = parse_postgres_url(url)
    for name, value in expected.items():
        assert getattr(parsed, name) == value, name
    assert parsed.dsn.startswith("postgresql://")


def test_unix_socket_urls_are_described_as_sockets() -> None:
    parsed = parse_postgres_url("postgresql:///shop?host=/var/run/postgresql")
    assert parsed.is_unix_socket
    assert "/var/run/postgresql/.s.PGSQL.5432" in parsed.describe()


def test_the_password_never_appears_in_descriptions_or_errors() -> None:
    parsed = parse_postgres_url("postgresql://ann:topsecret@host/shop")
    assert "topsecret" not in parsed.describe()
    assert "topsecret" not in repr(parsed)
    with pytest.raises(ConfigurationError) as info:
        parse_postgres_url("postgresql://ann:topsecret@host:99999/shop")
    assert "topsecret" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/db", "not a PostgreSQL URL"),
        ("postgresql://host:notaport/db", "port"),
        ("postgresql://host/db?sslmode=sometimes", "sslmode"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_postgres_url(url)


def test_both_schemes_select_the_driver() -> None:
    assert driver_class_for("postgresql://localhost/db") is PostgresDriver
    assert driver_class_for("postgres://localhost/db") is PostgresDriver


def test_options_are_kept() -> None:
    driver = PostgresDriver.from_url(
        "postgresql://localhost/db",
        pool_min_size=2,
        pool_max_size=7,
        connect_timeout=3,
        command_timeout=12.5,
        statement_cache_size=0,
        server_settings={"application_name": "api"},
        acquire_timeout=0.5,
    )
    assert driver.options == PoolOptions(
        pool_min_size=2,
        pool_max_size=7,
        connect_timeout=3,
        command_timeout=12.5,
        statement_cache_size=0,
        server_settings={"application_name": "api"},
        acquire_timeout=0.5,
    )
    assert PostgresDriver.from_url("postgresql://localhost/db").options == PoolOptions()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pool_size": 5}, "unknown PostgreSQL option.*pool_size.*known: pool_min_size"),
        ({"pool_min_size": 5, "pool_max_size": 2}, "larger than pool_max_size"),
        ({"pool_max_size": 0}, "at least 1"),
        ({"pool_max_size": "10"}, "non-negative int"),
        ({"acquire_timeout": 0}, "positive number"),
        ({"command_timeout": -1}, "positive number"),
        ({"server_settings": {"jit": False}}, "dict of str to str"),
    ],
)
def test_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PostgresDriver.from_url("postgresql://localhost/db", **options)


def test_platform() -> None:
    platform = PostgresDriver.platform
    for capability in (
        "returning",
        "transactional_ddl",
        "savepoints",
        "native_upsert",
        "native_ilike",
        "lock_modes",
        "skip_locked",
        "native_uuid",
        "native_json",
        "timezone_aware_datetime",
        "concurrent_connections",
    ):
        assert platform.supports(capability), capability
    assert platform.max_parameters == 32_767
    assert set(platform.isolation_levels) == {
        IsolationLevel.READ_COMMITTED,
        IsolationLevel.REPEATABLE_READ,
        IsolationLevel.SERIALIZABLE,
    }


def test_begin_statements_name_the_isolation_level() -> None:
    driver = PostgresDriver.from_url("postgresql://localhost/db")
    assert driver.begin_statements(None) == ["BEGIN"]
    assert driver.begin_statements(IsolationLevel.SERIALIZABLE) == [
        "BEGIN ISOLATION LEVEL SERIALIZABLE"
    ]


def _prepared() -> PostgresDriver:
    driver = PostgresDriver.from_url("postgresql://localhost/db")
    driver.prepare(list(discover(list(LIBRARY), NamingStrategy()).values()))
    return driver


def test_parameters_follow_their_dollar_numbers() -> None:
    """LIMIT/OFFSET are numbered before expanded IN lists: params must follow the $n order."""
    driver = _prepared()
    table = driver.tables["author"]
    statement = (
        sa.select(table.c.id)
        .where(table.c.id.in_([10, 20, 30]), table.c.name == sa.bindparam(None, "x"))
        .limit(5)
        .offset(7)
    )
    sql, params = driver.compile(statement)

    def value(pattern: str) -> list[Any]:
        match = re.search(pattern, sql)
        assert match is not None, (pattern, sql)
        return [params[int(n) - 1] for n in re.findall(r"\$(\d+)", match.group(0))]

    assert sorted(int(n) for n in re.findall(r"\$(\d+)", sql)) == list(range(1, 7))
    assert value(r"IN \([^)]*\)") == [10, 20, 30]
    assert value(r"name = \$\d+") == ["x"]
    assert value(r"LIMIT \$\d+") == [5]
    assert value(r"OFFSET \$\d+") == [7]


def test_lock_clauses_render() -> None:
    driver = _prepared()
    meta = next(m for m in driver._entities if m.cls is Author)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"lock_mode": LockMode.PESSIMISTIC_WRITE}, "FOR UPDATE OF e0"),
        ({"lock_mode": LockMode.PESSIMISTIC_READ}, "FOR SHARE OF e0"),
        ({"lock_mode": LockMode.PESSIMISTIC_WRITE, "lock_nowait": True}, "FOR UPDATE OF e0 NOWAIT"),
        (
            {"lock_mode": LockMode.PESSIMISTIC_WRITE, "lock_skip_locked": True},
            "FOR UPDATE OF e0 SKIP LOCKED",
        ),
    ]
    for options, clause in cases:
        statement, _ = driver.renderer.select(SelectQuery(meta, **options))
        sql, _ = driver.compile(statement)
        assert sql.rstrip().endswith(clause), sql


def test_drop_is_one_cascading_statement() -> None:
    driver = _prepared()
    (statement,) = driver.drop_statements(list(driver.tables.values()))
    assert statement.startswith("DROP TABLE IF EXISTS ")
    assert statement.endswith(" CASCADE")
    assert driver.drop_statements([]) == []
