"""``ORM.init``: discovery, driver selection by URL, and the global EntityManager."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from importlib.metadata import entry_points
from typing import Any

from orm.core.cursor import CursorCodec
from orm.core.driver import Driver, Platform, SchemaManager
from orm.core.entity_manager import EntityManager
from orm.core.errors import (
    ConfigurationError,
    DriverNotInstalledError,
    EntityStateError,
    ValidationError,
)
from orm.core.events import Events
from orm.core.loading.populate import parse_strategy, strategy_unavailable
from orm.core.metadata.discovery import discover, entities_in_modules
from orm.core.metadata.keys_policy import bind_key_policy
from orm.core.metadata.model import EntityMetadata
from orm.core.metadata.naming import NamingStrategy
from orm.core.query.ast import LoadStrategy
from orm.core.query_log import enable_debug_output
from orm.core.replicas import ReadReplicas, Replica, build_replicas, check_routing_options
from orm.core.unit_of_work.commit_order import CommitOrder, compute_commit_order
from orm.core.urls import redact_url

DRIVER_ENTRY_POINTS = "orm.drivers"

# Which distribution serves a URL scheme, for the "not installed" message.
_DRIVER_PACKAGES = {
    "sqlite": "orm-sqlite",
    "postgresql": "orm-postgres",
    "postgres": "orm-postgres",
    "mysql": "orm-mysql",
    "mariadb": "orm-mysql",
    "mongodb": "orm-mongo",
    "mongodb+srv": "orm-mongo",
}


@dataclass
class Config:
    """Everything ``ORM.init`` needs, as one object (the CLI loads the same thing)."""

    url: str | None = None
    entities: Sequence[type[Any]] = ()
    naming_strategy: NamingStrategy = field(default_factory=NamingStrategy)
    dataloader: bool = True
    # How populate loads relations when a query does not say: "select-in", "joined" or
    # "json-aggregate" (docs/loading-strategies.md).
    load_strategy: str = "select-in"
    debug: bool = False
    batch_size: int = 300
    driver: type[Driver] | None = None
    driver_options: dict[str, Any] = field(default_factory=dict)
    migrations_path: str = "migrations"
    # Signs pagination cursors; set it (same value everywhere) when several processes serve
    # the same clients, else each ORM.init makes a random one.
    cursor_secret: str | bytes | None = None
    migrations_table: str = "orm_migrations"
    # Seeders (orm-testing, docs/testing.md#seeders): the folder of their files (relative to the
    # project, like migrations_path) and the class `orm seeder:run` runs when not told which.
    seeders_path: str = "seeders"
    default_seeder: str = "DatabaseSeeder"
    # Modules whose @entity classes are the entities when ``entities`` is empty.
    entity_modules: Sequence[str] = ()
    # Read replicas: URLs, or Replica(url, pool_max_size=...) for options of their own
    # (docs/scaling.md#read-replicas). Reads outside transactions go to them when
    # prefer_read_replicas; a fork that wrote reads from the primary for read_your_writes
    # seconds after its last write (None: for the rest of its life); a replica that fails is
    # left out for replica_backoff[0] seconds, doubling up to replica_backoff[1].
    replicas: Sequence[str | Replica] = ()
    prefer_read_replicas: bool = True
    read_your_writes: float | None = None
    replica_backoff: tuple[float, float] = (1.0, 30.0)
    # Objects with methods named after events (docs/events.md); EventSubscriber documents them.
    subscribers: Sequence[Any] = ()

    def __repr__(self) -> str:
        # The URL may carry a password and the cursor secret signs cursors: a repr ends up in
        # logs and tracebacks.
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.url:
            shown["url"] = redact_url(self.url)
        shown["replicas"] = [
            redact_url(entry) if isinstance(entry, str) else entry for entry in self.replicas
        ]
        if self.cursor_secret is not None:
            shown["cursor_secret"] = "***"
        shown["driver_options"] = {
            key: "***" if "pass" in key.lower() or "secret" in key.lower() else value
            for key, value in self.driver_options.items()
        }
        return f"Config({', '.join(f'{name}={value!r}' for name, value in shown.items())})"


def _scheme(url: str) -> str:
    if "://" not in url:
        raise ConfigurationError(
            f"{redact_url(url)!r} is not a database URL; use e.g. 'sqlite:///app.db', "
            f"'sqlite://:memory:', 'postgresql://user:pass@host/db' or 'mysql://user:pass@host/db'"
        )
    scheme = url.split("://", 1)[0].lower()
    return scheme if scheme == "mongodb+srv" else scheme.split("+", 1)[0]


def driver_class_for(url: str) -> type[Driver]:
    """The installed driver for ``url``'s scheme, found through the ``orm.drivers`` entry points."""
    scheme = _scheme(url)
    for point in entry_points(group=DRIVER_ENTRY_POINTS):
        if point.name == scheme:
            loaded: type[Driver] = point.load()
            return loaded
    package = _DRIVER_PACKAGES.get(scheme)
    if package is None:
        raise DriverNotInstalledError(
            f"no orm driver handles {scheme}:// URLs; install the driver package for this "
            f"database (it registers itself in the {DRIVER_ENTRY_POINTS!r} entry-point group)"
        )
    raise DriverNotInstalledError(
        f"the {scheme}:// URL needs the {package} driver, which is not installed: "
        f"pip install {package}"
    )


class ORM:
    """An initialised ORM: metadata, a driver with its pool, and the global EntityManager."""

    def __init__(
        self,
        config: Config,
        driver: Driver,
        metadata: dict[type[Any], EntityMetadata],
        commit_order: CommitOrder,
        replicas: ReadReplicas | None = None,
        events: Events | None = None,
    ) -> None:
        self.config = config
        self.driver = driver
        # The read replicas' pools and health (empty without Config.replicas).
        self.replicas = replicas or ReadReplicas(())
        # Lifecycle events: entity hooks and the subscribers (orm.events.subscribe(...)).
        self.events = events or Events([meta.cls for meta in metadata.values()])
        self.metadata = metadata
        self.commit_order = commit_order
        self.em = EntityManager(self, is_global=True)
        secret = config.cursor_secret
        self.cursor_codec = CursorCodec(
            secret.encode() if isinstance(secret, str) else secret or secrets.token_bytes(32)
        )
        self._context: ContextVar[EntityManager | None] = ContextVar(
            f"orm_entity_manager_{id(self)}", default=None
        )

    @classmethod
    async def init(
        cls,
        config: Config | None = None,
        /,
        *,
        url: str | None = None,
        entities: Sequence[type[Any]] | None = None,
        naming_strategy: NamingStrategy | None = None,
        dataloader: bool | None = None,
        load_strategy: str | None = None,
        debug: bool | None = None,
        batch_size: int | None = None,
        driver: type[Driver] | None = None,
        replicas: Sequence[str | Replica] | None = None,
        prefer_read_replicas: bool | None = None,
        read_your_writes: float | None = None,
        replica_backoff: tuple[float, float] | None = None,
        subscribers: Sequence[Any] | None = None,
        **driver_options: Any,
    ) -> ORM:
        """Validate the entities, pick the driver for ``url`` and open its pool.

        Either pass a :class:`Config`, or its fields as keyword arguments (which override the
        config's). Unknown keyword arguments go to the driver (pool sizes, timeouts, ...).
        """
        overrides: dict[str, Any] = {
            key: value
            for key, value in {
                "url": url,
                "entities": entities,
                "naming_strategy": naming_strategy,
                "dataloader": dataloader,
                "load_strategy": load_strategy,
                "debug": debug,
                "batch_size": batch_size,
                "driver": driver,
                "replicas": replicas,
                "prefer_read_replicas": prefer_read_replicas,
                "read_your_writes": read_your_writes,
                "replica_backoff": replica_backoff,
                "subscribers": subscribers,
            }.items()
            if value is not None
        }
        base = config or Config()
        settings = replace(base, **overrides)
        if driver_options:
            settings.driver_options = {**base.driver_options, **driver_options}
        if not settings.url:
            raise ConfigurationError("ORM.init needs url=..., e.g. url='sqlite://:memory:'")
        if not settings.entities and settings.entity_modules:
            settings.entities = entities_in_modules(settings.entity_modules)
        if not settings.entities:
            raise ConfigurationError("ORM.init needs entities=[...]: the @entity classes to map")
        if settings.batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, got {settings.batch_size}")
        if settings.debug:
            enable_debug_output()
        metadata = discover(list(settings.entities), settings.naming_strategy)
        driver_class = settings.driver or driver_class_for(settings.url)
        instance = driver_class.from_url(settings.url, **settings.driver_options)
        _check_load_strategy(settings.load_strategy, instance.platform)
        check_routing_options(settings.prefer_read_replicas, settings.read_your_writes)
        read_replicas = build_replicas(
            driver_class,
            _replicas_of(settings, driver_class),
            settings.driver_options,
            backoff=settings.replica_backoff,
        )
        metas = list(metadata.values())
        events = Events([meta.cls for meta in metas], settings.subscribers)
        keys = bind_key_policy(metas, instance.platform.key_policy, instance.platform.name)
        keys.apply()
        try:
            await instance.connect(metas)
        except BaseException:
            keys.undo()
            raise
        try:
            await read_replicas.connect(metas)
        except BaseException:
            await read_replicas.close()
            await instance.close()
            keys.undo()
            raise
        order = compute_commit_order(metas, link_arrays=instance.platform.link_arrays)
        return cls(settings, instance, metadata, order, read_replicas, events)

    @asynccontextmanager
    async def request_context(self) -> AsyncIterator[EntityManager]:
        """A fresh fork for this task (request, job) and the tasks it starts.

        ``async with orm.request_context() as em:`` - code below it can get the same fork with
        ``orm.current_em()`` instead of passing it around.
        """
        em = self.em.fork()
        token = self._context.set(em)
        try:
            yield em
        finally:
            self._context.reset(token)

    def current_em(self) -> EntityManager:
        """The fork of the surrounding ``request_context()``; an error outside one."""
        em = self._context.get()
        if em is None:
            raise EntityStateError(
                "no EntityManager in this context: wrap the request or job in "
                "`async with orm.request_context():` (or pass an orm.em.fork() explicitly)"
            )
        return em

    @property
    def schema(self) -> SchemaManager:
        """The schema generator: ``await orm.schema.create()``, ``drop()``, ``update()``."""
        return self.driver.schema

    async def close(self) -> None:
        """Close the driver's connections, and the read replicas'."""
        try:
            await self.replicas.close()
        finally:
            await self.driver.close()

    async def __aenter__(self) -> ORM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _replicas_of(settings: Config, driver_class: type[Driver]) -> list[Replica]:
    """``Config.replicas`` as :class:`Replica` objects, each a server of the primary's kind."""
    if isinstance(settings.replicas, str):
        raise ConfigurationError(
            f"Config.replicas takes a list of URLs, got one string: "
            f"replicas=[{redact_url(settings.replicas)!r}]"
        )
    replicas: list[Replica] = []
    for index, entry in enumerate(settings.replicas):
        replica = Replica(entry) if isinstance(entry, str) else entry
        if not isinstance(replica, Replica):
            raise ConfigurationError(
                f"Config.replicas[{index}] must be a URL or a Replica(url, ...), got "
                f"{type(entry).__name__}"
            )
        if settings.driver is None and driver_class_for(replica.url) is not driver_class:
            raise ConfigurationError(
                f"Config.replicas[{index}] ({redact_url(replica.url)!r}) is a "
                f"{_scheme(replica.url)}:// URL, but the primary is "
                f"{_scheme(settings.url or '')}://: a replica is a server of the same database"
            )
        replicas.append(replica)
    return replicas


def _check_load_strategy(name: str, platform: Platform) -> None:
    try:
        strategy = parse_strategy(name, LoadStrategy.SELECT_IN)
    except ValidationError as exc:
        raise ConfigurationError(f"Config.load_strategy: {exc}") from None
    problem = strategy_unavailable(strategy, platform)
    if problem is not None:
        raise ConfigurationError(f"Config.load_strategy: {problem}")
