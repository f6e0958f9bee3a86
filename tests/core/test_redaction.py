"""No password in any message: ``redact_url`` over many URL shapes, then each place printing one.

Each place gets a URL (or a driver message) holding the distinctive password ``s3cr:t/@%40pw``
and must show neither it nor its percent-decoded form ``s3cr:t/@@pw``, while still naming the
user and the host, so the message stays useful.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pymysql
import pytest

from orm.core import ORM, PrimaryKey, Property, entity, redact_url
from orm.core.errors import ORMError
from orm.core.orm import driver_class_for
from orm.core.query_log import log_statement
from orm.core.urls import remove_secrets, split_userinfo
from orm.mysql import MySqlDriver, parse_mysql_url
from orm.mysql.errors import translate_mysql_error
from orm.postgres import PostgresDriver, parse_postgres_url
from orm.postgres.errors import translate_connect_error, translate_postgres_error
from orm.sqlite import parse_sqlite_url
from tests.cli.conftest import make_project
from tests.databases import database_url

PASSWORD = "s3cr:t/@%40pw"
DECODED = "s3cr:t/@@pw"
FORMS = (PASSWORD, DECODED, quote(DECODED, safe=""))


def assert_hidden(text: str, *visible: str) -> None:
    for form in FORMS:
        assert form not in text, f"the password ({form!r}) leaked: {text}"
    for part in visible:
        assert part in text, f"{part!r} should still be shown: {text}"


# -- the function ----------------------------------------------------------------------------

SHAPES = [
    ("postgresql://bob:p@ss@db/x", "postgresql://bob:***@db/x"),
    (f"postgresql://bob:{PASSWORD}@db:5432/x", "postgresql://bob:***@db:5432/x"),
    ("postgresql://bob:pw@db/x?sslmode=require", "postgresql://bob:***@db/x?sslmode=require"),
    ("postgres://bob:a%3Ab%2Fc@db/x", "postgres://bob:***@db/x"),
    ("postgresql+asyncpg://bob:pw@db/x", "postgresql+asyncpg://bob:***@db/x"),
    ("postgresql://:pw@db/x", "postgresql://:***@db/x"),
    ("postgresql://bob@db/x", "postgresql://bob@db/x"),
    ("postgresql://bob:@db/x", "postgresql://bob:@db/x"),
    ("postgresql://db/x", "postgresql://db/x"),
    ("postgresql://bob:pw@[::1]:5432/x", "postgresql://bob:***@[::1]:5432/x"),
    ("postgresql://bob:pw@[2001:db8::7]/x", "postgresql://bob:***@[2001:db8::7]/x"),
    ("postgresql://bob:pw@h1:5432,h2:5433/x", "postgresql://bob:***@h1:5432,h2:5433/x"),
    ("postgresql:///x?host=/run/pg&password=pw", "postgresql:///x?host=/run/pg&password=***"),
    (
        "postgresql://bob@db/x?PassWord=pw&sslmode=require",
        "postgresql://bob@db/x?PassWord=***&sslmode=require",
    ),
    ("mysql://bob@db/x?pass=pw", "mysql://bob@db/x?pass=***"),
    ("mysql://bob@db/x?charset=utf8&PASSWD=pw", "mysql://bob@db/x?charset=utf8&PASSWD=***"),
    ("mysql://bob@db/x?pwd=pw#frag", "mysql://bob@db/x?pwd=***#frag"),
    ("mysql://root@db/x@y", "mysql://root@db/x@y"),
    ("mariadb://bob:pw@%2Frun%2Fmysqld.sock/x", "mariadb://bob:***@%2Frun%2Fmysqld.sock/x"),
    ("sqlite:///app.db", "sqlite:///app.db"),
    ("sqlite:////home/a@b/app.db", "sqlite:////home/a@b/app.db"),
    ("sqlite://:memory:", "sqlite://:memory:"),
    ("host=db user=bob password=secret", "host=db user=bob password=***"),
    ("host=db Password = secret dbname=x", "host=db Password = *** dbname=x"),
    ("host=db password='two words' dbname=x", "host=db password=*** dbname=x"),
    ("host=db password='it\\'s' dbname=x", "host=db password=*** dbname=x"),
    ("user=bob pwd=secret", "user=bob pwd=***"),
    (
        "cannot reach 'postgresql://bob:pw@db/x': refused",
        "cannot reach 'postgresql://bob:***@db/x': refused",
    ),
    # Not secrets: bind placeholders and column references in logged SQL.
    ("UPDATE app_user SET password=$1 WHERE app_user.id = $2", None),
    ("UPDATE app_user SET password=? WHERE app_user.id = ?", None),
    ("UPDATE app_user SET password=%s WHERE app_user.id = %s", None),
    ("SELECT app_user.password FROM app_user WHERE app_user.password = :password", None),
    ("no url here", None),
]


@pytest.mark.parametrize(("url", "expected"), SHAPES)
def test_redact_url(url: str, expected: str | None) -> None:
    assert redact_url(url) == (url if expected is None else expected)


def test_redact_url_is_idempotent() -> None:
    for url, _ in SHAPES:
        once = redact_url(url)
        assert redact_url(once) == once


def test_split_userinfo_takes_the_last_at_before_the_query() -> None:
    assert split_userinfo(f"bob:{PASSWORD}@db:5432/x?a=b@c") == ("bob", PASSWORD, "db:5432/x?a=b@c")
    assert split_userinfo("db/x") == (None, None, "db/x")
    assert split_userinfo("/x?host=/tmp") == (None, None, "/x?host=/tmp")
    assert split_userinfo("root@db/x@y") == ("root", None, "db/x@y")
    assert split_userinfo(":pw@db") == ("", "pw", "db")


def test_remove_secrets_hides_a_known_password_in_any_form() -> None:
    text = f"auth failed for {DECODED} / {quote(DECODED, safe='')} at postgresql://bob:x@h/d"
    assert_hidden(remove_secrets(text, DECODED), "postgresql://bob:***@h/d")
    # Too short to search for in free text: "ab" would blank out ordinary words.
    assert remove_secrets("table abc", "ab") == "table abc"


# -- the drivers read a password holding "@", ":" and "/" the same way ---------------------


def test_drivers_read_the_password_with_the_same_rule() -> None:
    postgres = parse_postgres_url(f"postgresql://bob:{PASSWORD}@db:6543/x")
    assert (postgres.user, postgres.password, postgres.host, postgres.port) == (
        "bob",
        DECODED,
        "db",
        6543,
    )
    # asyncpg splits the userinfo at its first "@": the DSN it gets is percent-encoded.
    assert postgres.dsn == f"postgresql://bob:{quote(DECODED, safe='')}@db:6543/x"
    mysql = parse_mysql_url(f"mysql://bob:{PASSWORD}@db:3307/x")
    assert (mysql.user, mysql.password, mysql.host, mysql.port) == ("bob", DECODED, "db", 3307)


# -- every place that prints a URL -----------------------------------------------------------

PG = f"postgresql://bob:{PASSWORD}@db.example"
MY = f"mysql://bob:{PASSWORD}@db.example"

URL_ERRORS: list[tuple[Callable[[str], object], str]] = [
    (parse_postgres_url, f"{PG}/x?sslmode=sometimes"),
    (parse_postgres_url, f"{PG}:99999/x"),
    (parse_postgres_url, f"{PG}/x?a&&b"),
    (parse_postgres_url, f"{PG}/x?password={PASSWORD}&sslmode=no"),
    (parse_postgres_url, f"postgresq://bob:{PASSWORD}@db.example/x"),
    (parse_mysql_url, f"{MY}/x?colour=blue"),
    (parse_mysql_url, f"{MY}/x?ssl=maybe"),
    (parse_mysql_url, f"{MY}:port/x"),
    (parse_mysql_url, f"{MY}/x/y"),
    (parse_mysql_url, f"{MY}/x?a&&b"),
    (parse_mysql_url, f"mysqll://bob:{PASSWORD}@db.example/x"),
    (parse_sqlite_url, f"sqlit://bob:{PASSWORD}@db.example/x"),
    (driver_class_for, f"host=db.example user=bob password={PASSWORD}"),
]


@pytest.mark.parametrize(("parse", "url"), URL_ERRORS)
def test_url_errors_hide_the_password(parse: Callable[[str], object], url: str) -> None:
    with pytest.raises(ORMError) as caught:
        parse(url)
    assert_hidden(str(caught.value), "bob", "db.example")


def closed_port() -> int:
    """A local port nothing listens on (connecting to it is refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@entity
class Note:
    id: int = PrimaryKey()
    text: str = Property(length=50)


def _login_url(name: str) -> str:
    """The test server's URL with a wrong password: the server refuses the login."""
    base = database_url(name)
    scheme, rest = base.split("://", 1)
    user, _, location = split_userinfo(rest)
    return f"{scheme}://{user or 'root'}:{PASSWORD}@{location}"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bob:{PASSWORD}@127.0.0.1:{{port}}/x",
        f"mysql://bob:{PASSWORD}@127.0.0.1:{{port}}/x",
    ],
    ids=["postgres-refused", "mysql-refused"],
)
async def test_connection_refused_hides_the_password(url: str) -> None:
    with pytest.raises(ORMError) as caught:
        await ORM.init(url=url.format(port=closed_port()), entities=[Note], connect_timeout=5)
    assert_hidden(str(caught.value), "bob", "127.0.0.1")


async def test_a_refused_mysql_login_hides_the_password() -> None:
    # Whether the server answers (access denied) or not (refused), the message is clean.
    url = _login_url("mariadb").replace("root:", "orm_no_such_user_h3:")
    with pytest.raises(ORMError) as caught:
        await asyncio.wait_for(ORM.init(url=url, entities=[Note], connect_timeout=5), 30)
    assert_hidden(str(caught.value), "orm_no_such_user_h3")


def test_driver_messages_that_echo_the_password_are_cleaned() -> None:
    postgres = PostgresDriver.from_url(f"postgresql://bob:{PASSWORD}@db.example/x")
    echoed = ConnectionRefusedError(f"login bob/{DECODED} at {postgres.url.dsn} refused")
    for error in (
        translate_connect_error(postgres, echoed),
        translate_postgres_error(postgres, echoed, sql="SELECT 1", table=None),
    ):
        assert_hidden(str(error), "bob", "db.example")
    mysql = MySqlDriver.from_url(f"mysql://bob:{PASSWORD}@db.example/x")
    native = pymysql.err.OperationalError(2003, f"Can't connect as bob:{DECODED}@db.example")
    assert_hidden(str(translate_mysql_error(mysql, native, sql="connect", table=None)), "bob")


@pytest.mark.parametrize("command", ["debug", "migration:list", "schema:create --run"])
def test_cli_output_hides_the_password(tmp_path: Path, command: str) -> None:
    url = f"postgresql://bob:{PASSWORD}@127.0.0.1:{closed_port()}/x"
    result = make_project(tmp_path / "project", url).orm(*command.split())
    assert result.returncode == 1, result.stdout + result.stderr
    assert_hidden(result.stdout + result.stderr, "bob", "127.0.0.1")
    if command == "debug":
        assert "url:           postgresql://bob:***@127.0.0.1:" in result.stdout


def test_cli_error_from_the_users_settings_hides_the_password(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", "sqlite://:memory:")
    (project.root / "app" / "settings.py").write_text(
        f"raise RuntimeError('cannot use postgresql://bob:{PASSWORD}@db.example/x')\n"
    )
    result = project.orm("debug")
    assert result.returncode == 2
    assert_hidden(result.stderr, "bob", "db.example")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize(
    "sql",
    [
        f"CREATE SUBSCRIPTION s CONNECTION 'host=db.example user=bob password={PASSWORD}' "
        f"PUBLICATION p",
        f"CREATE TABLE t (id INT) ENGINE=FEDERATED CONNECTION='{MY}/x/t'",
        f"SELECT dblink_connect('{PG}/x')",
    ],
)
def test_query_log_hides_the_password(sql: str) -> None:
    logger = logging.getLogger("orm.sql")
    records, level = Records(), logger.level
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    try:
        log_statement(sql, 0, 1.0)
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    (record,) = records.records
    assert_hidden(record.getMessage(), "bob", "db.example")
    assert_hidden(record.sql, "bob", "db.example")  # type: ignore[attr-defined]


def test_a_config_repr_hides_the_password_and_secrets() -> None:
    from orm.core import Config

    config = Config(
        url=f"postgresql://bob:{PASSWORD}@db.example/app",
        cursor_secret="cursor-signing-key",
        driver_options={"ssl_password": "key-pass", "statement_cache_size": 0},
    )
    shown = repr(config)
    assert_hidden(shown, "bob", "db.example")
    assert "cursor-signing-key" not in shown and "key-pass" not in shown
    assert "statement_cache_size" in shown
