"""Create the test databases on each server that answers, once per test session.

The compliance suite's URLs (``ORM_PG_URL``, ``ORM_MYSQL_URL``) name a database that a fresh
server does not have. Before collection, each configured server is asked, through its
maintenance database, to create it when missing, so ``uv run pytest`` runs every test the
machine can run. A MongoDB-wire server (``ORM_MONGO_URL``) creates databases on the first
write, so it is only asked to answer ``ping``. A server that does not answer is left alone here:
its tests then skip, or fail under ``ORM_REQUIRE_DATABASES=1``, with the connection error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import urllib.parse

CONNECT_TIMEOUT = 5.0

DEFAULT_URLS = {
    "sqlite": "sqlite://:memory:",
    "postgres": "postgresql://postgres@127.0.0.1:5432/orm_test",
    "mariadb": "mysql://root@127.0.0.1:3306/orm_test",
    "mongo": "mongodb://127.0.0.1:27017/orm_test",
}
URL_VARIABLES = {"postgres": "ORM_PG_URL", "mariadb": "ORM_MYSQL_URL", "mongo": "ORM_MONGO_URL"}
SERVERS = ("postgres", "mariadb", "mongo")
# The databases of a run without ORM_TEST_DATABASES.
DEFAULT_DATABASES = ("sqlite", "postgres", "mariadb", "mongo")
# Databases of their own for the migration and CLI tests, and the second pool the shared
# read-replica routing tests use as a replica (ORM_TEST_DB_SUFFIX keeps parallel
# runs of several checkouts on one server apart).
OWN_DATABASES = ("orm_migrations_test", "orm_cli_test", "orm_routing_replica")


def database_url(name: str) -> str:
    """The URL the tests use for database ``name`` (a key of :data:`DEFAULT_URLS`)."""
    variable = URL_VARIABLES.get(name)
    return os.environ.get(variable, DEFAULT_URLS[name]) if variable else DEFAULT_URLS[name]


def configured_databases() -> list[str]:
    """The databases of this run: ``ORM_TEST_DATABASES`` (comma-separated) or the defaults."""
    selected = os.environ.get("ORM_TEST_DATABASES")
    if selected:
        return [name.strip() for name in selected.split(",") if name.strip()]
    return list(DEFAULT_DATABASES)


def own_database_names() -> tuple[str, ...]:
    suffix = os.environ.get("ORM_TEST_DB_SUFFIX", "")
    return tuple(name + suffix for name in OWN_DATABASES)


def database_name(url: str) -> str | None:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.lstrip("/")) or None


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


async def _ensure_postgres(url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(
        with_database(url, "postgres").replace("postgresql+asyncpg://", "postgresql://"),
        timeout=CONNECT_TIMEOUT,
    )
    try:
        found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not found:
            quoted = name.replace('"', '""')
            # Two sessions may race to create it: the loser's duplicate error is harmless.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await connection.execute(f'CREATE DATABASE "{quoted}"')
    finally:
        await connection.close()


async def _ensure_mysql(url: str, name: str) -> None:
    import aiomysql

    parts = urllib.parse.urlsplit(url)
    connection = await aiomysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=urllib.parse.unquote(parts.username or "root"),
        password=urllib.parse.unquote(parts.password or ""),
        connect_timeout=CONNECT_TIMEOUT,
        autocommit=True,
    )
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(
                "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)
            )
            if await cursor.fetchone() is None:
                quoted = name.replace("`", "``")
                await cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{quoted}`")
    finally:
        connection.close()


async def _ping_mongo(url: str) -> None:
    import pymongo

    timeout_ms = int(CONNECT_TIMEOUT * 1000)
    client: pymongo.AsyncMongoClient[dict[str, object]] = pymongo.AsyncMongoClient(
        url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
    )
    try:
        await client.admin.command("ping")
        # Transactions a killed earlier run left open would block this run's schema drops on
        # SecantusDB (tests/mongo_support.py): end them before the tests start. Every test
        # closes its own sessions (the driver aborts what a connection leaves open).
        # A server without the command has nothing of the kind to clean up.
        with contextlib.suppress(pymongo.errors.OperationFailure):
            await client.admin.command("killAllSessions", [])
    finally:
        await client.close()


async def _ensure(kind: str, url: str, names: list[str]) -> None:
    if kind == "mongo":
        # Mongo creates a database on its first write: there is nothing to create beforehand.
        await _ping_mongo(url)
        return
    ensure = _ensure_postgres if kind == "postgres" else _ensure_mysql
    for name in names:
        await ensure(url, name)


def ensure_databases(kind: str, url: str, extra: tuple[str, ...] = ()) -> str | None:
    """Create the database of ``url`` (and ``extra`` ones) on its server when missing.

    A Mongo server (``kind`` ``"mongo"``) is only asked to answer: it creates databases lazily.
    Returns None when done, or why the server could not be asked (it is then left alone).
    """
    name = database_name(url)
    names = [n for n in (name, *extra) if n]
    if not names and kind != "mongo":
        return None
    try:
        asyncio.run(_ensure(kind, url, names))
    except ImportError as exc:
        return f"the {kind} client library is not installed: {exc}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def ensure_configured_databases() -> dict[str, str]:
    """:func:`ensure_databases` for every configured server; ``{server: why not}`` on failure."""
    problems: dict[str, str] = {}
    for kind in configured_databases():
        if kind in SERVERS:
            problem = ensure_databases(kind, database_url(kind), own_database_names())
            if problem is not None:
                problems[kind] = problem
    return problems
