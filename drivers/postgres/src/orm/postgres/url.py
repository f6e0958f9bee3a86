"""PostgreSQL URLs and driver options.

Accepted URL forms (libpq's URI syntax; asyncpg does the final parsing)::

    postgresql://user:password@host:5432/database?sslmode=require
    postgres://user@host/database                       (same thing)
    postgresql+asyncpg://...                            (the SQLAlchemy spelling, accepted)
    postgresql:///database?host=/var/run/postgresql     (unix socket directory)
    postgresql://user@%2Fvar%2Frun%2Fpostgresql/database  (unix socket, percent-encoded)

Query parameters other than the libpq connection keywords (``sslmode``, ``sslrootcert``,
``host``, ``port``, ...) become server settings, e.g. ``?application_name=api``.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from orm.core.errors import ConfigurationError
from orm.core.urls import redact_url, split_userinfo

DEFAULT_PORT = 5432

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class PostgresUrl:
    """The parts of a PostgreSQL URL, for messages and tests; ``dsn`` goes to asyncpg."""

    dsn: str = field(repr=False)
    host: str | None
    port: int
    user: str | None
    password: str | None = field(repr=False)
    database: str | None
    query: dict[str, str]

    @property
    def is_unix_socket(self) -> bool:
        return self.host is not None and self.host.startswith("/")

    @property
    def sslmode(self) -> str | None:
        return self.query.get("sslmode")

    def describe(self) -> str:
        """``host:port/database`` (never the password), for error messages."""
        where = self.host or "localhost (default host)"
        if self.is_unix_socket:
            where = f"unix socket {self.host}/.s.PGSQL.{self.port}"
        else:
            where = f"{where}:{self.port}"
        return (
            f"{where}, database {self.database or '(default)'!r}, user {self.user or '(default)'!r}"
        )


def parse_postgres_url(url: str) -> PostgresUrl:
    """Validate ``url`` and split it; raises ConfigurationError with the accepted forms."""
    scheme, sep, rest = url.partition("://")
    base_scheme = scheme.lower().split("+", 1)[0]
    if not sep or base_scheme not in ("postgresql", "postgres"):
        raise _error(
            f"{url!r} is not a PostgreSQL URL; write "
            f"postgresql://user:password@host:5432/database (or postgres://...)"
        )
    user_part, password_part, location = split_userinfo(rest)
    try:
        parsed = urllib.parse.urlsplit(f"postgresql://{location}")
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
    sslmode = query.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise _error(
            f"{url!r}: sslmode={sslmode!r} is not valid; use one of {', '.join(SSL_MODES)}"
        )
    host, port = _host_and_port(parsed.netloc, url)
    host = query.get("host", host) or None
    if "port" in query:
        port = _port(query["port"], url)
    database = urllib.parse.unquote(parsed.path.lstrip("/")) or query.get("dbname") or None
    user = urllib.parse.unquote(user_part or "")
    password = urllib.parse.unquote(password_part or "")
    return PostgresUrl(
        dsn=f"postgresql://{_credentials(user_part, password_part)}{location}",
        host=host,
        port=port,
        user=user or query.get("user") or None,
        password=password or query.get("password") or None,
        database=database,
        query=query,
    )


def _credentials(user: str | None, password: str | None) -> str:
    """``user:password@``, percent-encoded for asyncpg.

    asyncpg splits the userinfo at its first ``@`` and ``:``; encoded, a password holding
    ``@``, ``:`` or ``/`` reaches the server as written.
    """
    if user is None:
        return ""

    def encoded(part: str) -> str:
        return urllib.parse.quote(urllib.parse.unquote(part), safe="")

    secret = f":{encoded(password)}" if password is not None else ""
    return f"{encoded(user)}{secret}@"


def _error(message: str) -> ConfigurationError:
    """A URL error; the URL in it never shows its password."""
    return ConfigurationError(redact_url(message))


def _host_and_port(hostspec: str, url: str) -> tuple[str | None, int]:
    if not hostspec:
        return None, DEFAULT_PORT
    if "," in hostspec:
        # Several hosts (libpq failover lists): report the first one.
        hostspec = hostspec.split(",", 1)[0]
    if hostspec.startswith("["):  # IPv6 literal: [::1]:5432
        closing = hostspec.find("]")
        host = hostspec[1:closing]
        rest = hostspec[closing + 1 :]
        return host, _port(rest[1:], url) if rest.startswith(":") else DEFAULT_PORT
    host, sep, port_text = hostspec.partition(":")
    return urllib.parse.unquote(host) or None, _port(port_text, url) if sep else DEFAULT_PORT


def _port(text: str, url: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise _error(f"{url!r}: port {text!r} is not a number from 1 to 65535")
    return port


# -- driver options ------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolOptions:
    """Settings of the asyncpg pool; ``ORM.init(url=..., pool_max_size=20, ...)``."""

    pool_min_size: int = 1
    pool_max_size: int = 10
    connect_timeout: float = 10.0
    command_timeout: float | None = None
    statement_cache_size: int = 100
    server_settings: dict[str, str] = field(default_factory=dict)
    acquire_timeout: float = 30.0


KNOWN_OPTIONS = tuple(PoolOptions.__dataclass_fields__)


def pool_options(options: dict[str, Any]) -> PoolOptions:
    """Validate ``ORM.init``'s driver options; unknown or ill-typed ones are errors."""
    unknown = sorted(set(options) - set(KNOWN_OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"unknown PostgreSQL option(s) {', '.join(unknown)}; known: {', '.join(KNOWN_OPTIONS)}"
        )
    result = PoolOptions(**options)
    for name in ("pool_min_size", "pool_max_size", "statement_cache_size"):
        value = getattr(result, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError(f"{name} must be a non-negative int, got {value!r}")
    if result.pool_max_size < 1:
        raise ConfigurationError("pool_max_size must be at least 1")
    if result.pool_min_size > result.pool_max_size:
        raise ConfigurationError(
            f"pool_min_size ({result.pool_min_size}) is larger than pool_max_size "
            f"({result.pool_max_size}); lower the first or raise the second"
        )
    for name in ("connect_timeout", "command_timeout", "acquire_timeout"):
        value = getattr(result, name)
        if value is None and name == "command_timeout":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    settings = result.server_settings
    if not isinstance(settings, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in settings.items()
    ):
        raise ConfigurationError(
            f"server_settings must be a dict of str to str, e.g. "
            f"{{'application_name': 'api', 'statement_timeout': '5s'}}; got {settings!r}"
        )
    return result
