"""MySQL/MariaDB URLs and driver options.

Accepted URL forms::

    mysql://user:password@host:3306/database?charset=utf8mb4
    mariadb://user@host/database                     (same driver; the server is detected)
    mysql+aiomysql://...                             (the SQLAlchemy spelling, accepted)
    mysql://user@localhost/database?unix_socket=/run/mysqld/mysqld.sock
    mysql://user@%2Frun%2Fmysqld%2Fmysqld.sock/database  (unix socket, percent-encoded host)

Query parameters: ``charset``, ``collation``, ``unix_socket``, ``connect_timeout``, ``ssl``
(``true``/``false``), ``ssl_ca``, ``ssl_cert``, ``ssl_key``. ``ORM.init`` keyword options
(``pool_max_size=...``) override query parameters of the same name.
"""

from __future__ import annotations

import ssl
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from orm.core.errors import ConfigurationError
from orm.core.urls import redact_url, split_userinfo

DEFAULT_PORT = 3306
SCHEMES = ("mysql", "mariadb")
QUERY_PARAMETERS = (
    "charset",
    "collation",
    "unix_socket",
    "connect_timeout",
    "ssl",
    "ssl_ca",
    "ssl_cert",
    "ssl_key",
)
_TRUE = ("1", "true", "yes", "on", "require", "required")
_FALSE = ("0", "false", "no", "off", "disable", "disabled")


@dataclass(frozen=True)
class MySqlOptions:
    """Pool and session settings of the driver (``ORM.init`` keyword options)."""

    pool_min_size: int = 1
    pool_max_size: int = 10
    connect_timeout: float = 10.0
    # Seconds after which an idle connection is closed and replaced (-1: never).
    pool_recycle: float = 3600.0
    acquire_timeout: float = 30.0
    charset: str = "utf8mb4"
    # Table and connection collation; None keeps the server's default for the charset.
    collation: str | None = None
    # None: use INSERT ... RETURNING where the server has it (MariaDB >= 10.5). False: never
    # (the MySQL 8 code path: first generated id + row count).
    returning: bool | None = None
    # None: trust "first id + row count" only under innodb_autoinc_lock_mode 0 or 1 and insert
    # row by row under 2. True/False force one or the other (see docs/drivers/mysql.md).
    consecutive_insert_ids: bool | None = None


OPTION_NAMES = tuple(MySqlOptions.__dataclass_fields__)


@dataclass(frozen=True)
class MySqlUrl:
    """The parts of a MySQL URL, for the connection, messages and tests."""

    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    database: str | None
    unix_socket: str | None = None
    query: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """``host:port/database`` (never the password), for error messages."""
        where = f"{self.host}:{self.port}"
        if self.unix_socket:
            where = f"unix socket {self.unix_socket}"
        return f"{where}, database {self.database or '(none)'!r}, user {self.user or 'root'!r}"

    def ssl_context(self) -> ssl.SSLContext | None:
        wanted = self.query.get("ssl")
        ca, cert, key = (self.query.get(name) for name in ("ssl_ca", "ssl_cert", "ssl_key"))
        if wanted is not None and wanted.lower() in _FALSE:
            return None
        if wanted is None and not (ca or cert):
            return None
        context = ssl.create_default_context(cafile=ca)
        if cert:
            context.load_cert_chain(cert, key)
        return context


def parse_mysql_url(url: str) -> MySqlUrl:
    """Validate ``url`` and split it; raises ConfigurationError naming the accepted forms."""
    scheme, sep, rest = url.partition("://")
    base = scheme.lower().split("+", 1)[0]
    if not sep or base not in SCHEMES:
        raise _error(
            f"{url!r} is not a MySQL/MariaDB URL; write "
            f"mysql://user:password@host:3306/database (or mariadb://...)"
        )
    user_part, password_part, location = split_userinfo(rest)
    try:
        parsed = urllib.parse.urlsplit(f"mysql://{location}")
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 address
        raise _error(f"{url!r} cannot be read: {exc}") from None
    try:
        pairs = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        if parsed.query:
            raise _error(
                f"{url!r}: the query string {parsed.query!r} is malformed; write "
                f"?name=value&name2=value2"
            ) from None
        pairs = []
    query = dict(pairs)
    unknown = sorted(set(query) - set(QUERY_PARAMETERS))
    if unknown:
        raise _error(
            f"{url!r}: unknown URL parameter(s) {', '.join(unknown)}; known: "
            f"{', '.join(QUERY_PARAMETERS)}"
        )
    if "ssl" in query and query["ssl"].lower() not in _TRUE + _FALSE:
        raise _error(f"{url!r}: ssl must be true or false, got {query['ssl']!r}")
    netloc_host = urllib.parse.unquote(parsed.hostname or "") if parsed.hostname else ""
    # urlsplit lower-cases hostnames; a percent-encoded socket path keeps its case this way.
    raw_host = parsed.netloc
    if raw_host.startswith("%2F") or raw_host.startswith("%2f"):
        netloc_host = urllib.parse.unquote(raw_host)
    try:
        port = parsed.port or DEFAULT_PORT
    except ValueError:
        raise _error(f"{url!r}: the port must be a number") from None
    socket = query.get("unix_socket")
    if netloc_host.startswith("/"):
        socket, netloc_host = socket or netloc_host, "localhost"
    database = urllib.parse.unquote(parsed.path.lstrip("/")) or None
    if database is not None and "/" in database:
        raise _error(f"{url!r}: the path must be just the database name, e.g. /app_db")
    return MySqlUrl(
        scheme=base,
        host=netloc_host or "localhost",
        port=port,
        user=urllib.parse.unquote(user_part) if user_part else None,
        password=urllib.parse.unquote(password_part) if password_part is not None else None,
        database=database,
        unix_socket=socket,
        query=query,
    )


def build_options(url: MySqlUrl, options: dict[str, Any]) -> MySqlOptions:
    """Merge URL parameters and ``ORM.init`` keyword options; validate them."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise ConfigurationError(
            f"unknown MySQL option(s) {', '.join(unknown)}; known: {', '.join(OPTION_NAMES)} "
            f"(URL parameters: {', '.join(QUERY_PARAMETERS)})"
        )
    merged: dict[str, Any] = {}
    if "charset" in url.query:
        merged["charset"] = url.query["charset"]
    if "collation" in url.query:
        merged["collation"] = url.query["collation"]
    if "connect_timeout" in url.query:
        merged["connect_timeout"] = _number(url.query["connect_timeout"], "connect_timeout")
    merged.update(options)
    result = MySqlOptions(**merged)
    for name, least in (("pool_max_size", 1), ("pool_min_size", 0)):
        value = getattr(result, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ConfigurationError(f"{name} must be an integer >= {least}, got {value!r}")
    if result.pool_min_size > result.pool_max_size:
        raise ConfigurationError(
            f"pool_min_size ({result.pool_min_size}) is larger than pool_max_size "
            f"({result.pool_max_size})"
        )
    for name in ("connect_timeout", "acquire_timeout"):
        value = getattr(result, name)
        if not isinstance(value, (int, float)) or value <= 0:
            raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    if not isinstance(result.pool_recycle, (int, float)):
        raise ConfigurationError(
            f"pool_recycle must be seconds (-1: never), got {result.pool_recycle!r}"
        )
    if not result.charset.replace("_", "").isalnum():
        raise ConfigurationError(f"charset={result.charset!r} is not a character set name")
    if result.collation is not None and not result.collation.replace("_", "").isalnum():
        raise ConfigurationError(f"collation={result.collation!r} is not a collation name")
    return result


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigurationError(f"URL parameter {name} must be a number, got {text!r}") from None


def _error(message: str) -> ConfigurationError:
    """A URL error; the URL in it never shows its password."""
    return ConfigurationError(redact_url(message))
