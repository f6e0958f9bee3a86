"""The MongoDB driver on PyMongo's async API: ``ORM.init(url="mongodb://host/app", ...)``.

The database is the URL's path (``mongodb://127.0.0.1:27017/app``). Options of ``ORM.init``:

- ``client``: an ``AsyncMongoClient`` the application made (its own settings, monitoring); the
  driver uses it and leaves it open at ``orm.close()``: the application closes it;
- ``pool_max_size``: the most connections checked out at once, and the most sockets PyMongo
  opens (``maxPoolSize``, default 100); ``pool_min_size``: sockets kept open (``minPoolSize``);
- ``connect_timeout``: seconds to find a server before an error (default 10);
- ``acquire_timeout``: seconds a request waits for a free connection when all
  ``pool_max_size`` are checked out, then ``PoolTimeoutError`` (default 30, as on SQL).

Transactions need a replica set (or a sharded cluster): against a standalone server the driver
reports ``Platform.transactions = False`` and each write is atomic on its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConfigurationError as MongoConfigurationError
from pymongo.errors import InvalidURI

from orm.core.driver import Driver, Platform, PoolStatus
from orm.core.errors import ConfigurationError, PoolTimeoutError
from orm.core.metadata.keys_policy import KeyPolicy
from orm.core.metadata.model import EntityMetadata, ScalarKind
from orm.core.urls import redact_url
from orm.mongo.commands import run_command
from orm.mongo.connection import Document, MongoConnection
from orm.mongo.keys import new_object_id
from orm.mongo.naming import collection_name
from orm.mongo.schema import MongoSchemaManager

_OPTIONS = ("client", "pool_min_size", "pool_max_size", "connect_timeout", "acquire_timeout")
DEFAULT_POOL_MAX_SIZE = 100  # PyMongo's own default maxPoolSize

# int keys: numbered by the driver from a counter per collection (like a sequence); str keys:
# a new ObjectId, stored as ObjectId; UUID keys: uuid4.
MONGO_KEY_POLICY = KeyPolicy(
    integer_autoincrement=True,
    generators=((ScalarKind.STRING, new_object_id), (ScalarKind.UUID, uuid.uuid4)),
)

MONGO_PLATFORM = Platform(
    name="mongodb",
    returning=True,
    transactional_ddl=False,
    transactions=True,
    savepoints=False,
    native_upsert=True,
    native_ilike=True,
    lock_modes=False,
    skip_locked=False,
    isolation_levels=(),
    native_uuid=True,
    native_json=True,
    timezone_aware_datetime=False,
    max_parameters=100_000,
    concurrent_connections=True,
    server_side_cursors=False,
    joined_loading=False,
    json_aggregate_loading=False,
    key_policy=MONGO_KEY_POLICY,
    link_arrays=True,
    foreign_keys=False,
    composite_keys=False,
    microsecond_datetimes=False,
    sql=False,
    # The replica set in the URL and its readPreference route reads (docs/scaling.md).
    read_replicas=False,
)


def database_name(url: str) -> str:
    path = urllib.parse.urlsplit(url).path.lstrip("/")
    name = urllib.parse.unquote(path.split("/", 1)[0]) if path else ""
    if not name:
        raise ConfigurationError(
            f"the MongoDB URL {redact_url(url)!r} names no database; add it as the path, e.g. "
            f"'mongodb://127.0.0.1:27017/app'"
        )
    return name


def make_client(
    url: str,
    pool_min_size: int | None,
    pool_max_size: int | None,
    connect_timeout: float | None,
) -> AsyncMongoClient[Document]:
    """A client for ``url``; options given to ORM.init win over the URL's, which win over
    PyMongo's defaults (a 10 s server selection timeout instead of 30 s)."""
    options: dict[str, Any] = {"tz_aware": False, "uuidRepresentation": "standard"}
    if pool_max_size is not None:
        options["maxPoolSize"] = pool_max_size
    if pool_min_size is not None:
        options["minPoolSize"] = pool_min_size
    if connect_timeout is not None:
        options["serverSelectionTimeoutMS"] = int(connect_timeout * 1000)
    elif "serverselectiontimeoutms" not in url.lower():
        options["serverSelectionTimeoutMS"] = 10_000
    try:
        return AsyncMongoClient(url, connect=False, **options)
    except (InvalidURI, MongoConfigurationError, ValueError) as exc:
        raise ConfigurationError(
            f"the MongoDB URL {redact_url(url)!r} cannot be used: {redact_url(str(exc))}; "
            f"percent-encode special characters of the user and password (e.g. @ as %40)"
        ) from None


class MongoDriver(Driver):
    platform = MONGO_PLATFORM

    def __init__(
        self,
        url: str,
        *,
        client: AsyncMongoClient[Document] | None = None,
        pool_min_size: int | None = None,
        pool_max_size: int | None = None,
        connect_timeout: float | None = None,
        acquire_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.database_name = database_name(url)
        self.owns_client = client is None
        if client is not None:
            if (pool_min_size, pool_max_size, connect_timeout) != (None, None, None):
                raise ConfigurationError(
                    "pool_min_size, pool_max_size and connect_timeout configure the client the "
                    "driver makes; with client= set them on your AsyncMongoClient (minPoolSize, "
                    "maxPoolSize, serverSelectionTimeoutMS) instead"
                )
            self.client = client
        else:
            self.client = make_client(url, pool_min_size, pool_max_size, connect_timeout)
        self.acquire_timeout = 30.0 if acquire_timeout is None else acquire_timeout
        # Connections are checked out of this many slots, as from a SQL driver's pool: a
        # transaction holds one until it ends, and the next request waits for a free one.
        self.slots = asyncio.Semaphore(self.pool_size_of(self.client))
        self.in_use = 0
        self.database: AsyncDatabase[Document] = self.client.get_database(self.database_name)
        self.entities: list[EntityMetadata] = []
        self.platform = MONGO_PLATFORM
        self.pool_size = self.pool_size_of(self.client)
        self._schema = MongoSchemaManager(self)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MongoDriver:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ConfigurationError(
                f"unknown MongoDB option(s) {', '.join(unknown)}; known: {', '.join(_OPTIONS)}"
            )
        client = options.get("client")
        if client is not None and not isinstance(client, AsyncMongoClient):
            raise ConfigurationError(
                f"client= takes a pymongo.AsyncMongoClient, got {type(client).__name__}"
            )
        return cls(url, **options)

    async def connect(self, entities: Sequence[EntityMetadata]) -> None:
        for meta in entities:
            if meta.composite_pk:
                names = ", ".join(prop.name for prop in meta.primary_keys)
                raise ConfigurationError(
                    f"{meta.class_name}: MongoDB documents have one key (_id), but "
                    f"{meta.class_name} has a composite primary key ({names}); give it a single "
                    f"key and a unique index over {names} (@entity(uniques=[...]))"
                )
        self.entities = list(entities)
        admin = self.client.admin
        hello: dict[str, Any] = await run_command(
            "SELECT", None, lambda: ("hello", 0), lambda: admin.command("hello")
        )
        replicated = "setName" in hello or hello.get("msg") == "isdbgrid"
        if not replicated:
            self.platform = dataclasses.replace(MONGO_PLATFORM, transactions=False)

    async def close(self) -> None:
        if self.owns_client:
            await self.client.close()

    @staticmethod
    def pool_size_of(client: AsyncMongoClient[Document]) -> int:
        size = client.options.pool_options.max_pool_size
        return DEFAULT_POOL_MAX_SIZE if size is None else int(size)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[MongoConnection]:
        try:
            await asyncio.wait_for(self.slots.acquire(), self.acquire_timeout)
        except TimeoutError:
            raise PoolTimeoutError(
                f"all {self.pool_size} MongoDB connections (pool_max_size) stayed checked out "
                f"for longer than acquire_timeout={self.acquire_timeout}s; raise pool_max_size "
                f"or acquire_timeout, or keep transactions shorter"
            ) from None
        self.in_use += 1
        connection = MongoConnection(self, self.database)
        try:
            yield connection
        finally:
            try:
                await connection.close()
            finally:
                self.in_use -= 1
                self.slots.release()

    def pool_status(self) -> PoolStatus:
        """Connections checked out now (``idle`` is 0: PyMongo does not tell its open sockets)."""
        return PoolStatus(in_use=self.in_use, idle=0)

    @property
    def schema(self) -> MongoSchemaManager:
        return self._schema

    @property
    def pool_max_size(self) -> int | None:
        return self.pool_size

    def native_collection(self, entity: EntityMetadata) -> AsyncCollection[Document]:
        """``em.get_collection(Entity)``: PyMongo's collection of the entity."""
        return self.database[collection_name(entity)]
