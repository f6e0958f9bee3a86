"""Read replicas: one pool per replica, which replica serves the next read, and which are down.

An ORM with ``Config.replicas`` holds a :class:`ReadReplicas`. Reads that the routing rules send
to a replica (see :mod:`orm.core.connections`) go round robin over the replicas that are up. A
replica whose connection fails is taken out of rotation for a back-off that doubles with each
failure; once it has passed, the replica is asked to answer a ping before it serves reads again.
When no replica can serve a read, the primary does: a replica's failure never reaches the user.
Writes never come here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from orm.core.errors import (
    ConfigurationError,
    ConnectionError,
    PoolTimeoutError,
    TransactionConflictError,
)
from orm.core.urls import redact_url

if TYPE_CHECKING:
    from orm.core.driver import Connection, Driver
    from orm.core.metadata.model import EntityMetadata

R = TypeVar("R")
logger = logging.getLogger("orm.replicas")


class Replica:
    """A read replica in ``Config.replicas``: its URL and the driver options that differ from
    the primary's, e.g. ``Replica("postgresql://app@replica-1/app", pool_max_size=20)``.

    A plain URL string in ``replicas`` is a replica with the primary's options.
    """

    __slots__ = ("options", "url")

    def __init__(self, url: str, /, **options: Any) -> None:
        self.url = url
        self.options: Mapping[str, Any] = options

    def __repr__(self) -> str:
        shown = "".join(f", {key}={value!r}" for key, value in self.options.items())
        return f"Replica({redact_url(self.url)!r}{shown})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Replica) and other.url == self.url and other.options == self.options
        )

    def __hash__(self) -> int:
        return hash(self.url)


@dataclass(frozen=True)
class ReplicaStatus:
    """One replica as ``orm.replicas.status()`` reports it, for health pages and logs."""

    name: str
    up: bool
    failures: int
    # Seconds until a replica that is down is checked again (0 when up or due).
    retry_in: float
    last_error: str | None


class ReplicaMember:
    """One replica's driver (its own pool) and health."""

    __slots__ = ("connected", "driver", "failures", "last_error", "name", "retry_at")

    def __init__(self, name: str, driver: Driver) -> None:
        self.name = name
        self.driver = driver
        self.connected = False
        self.failures = 0
        self.retry_at = 0.0
        self.last_error: BaseException | None = None

    @property
    def up(self) -> bool:
        return self.connected and self.failures == 0


class ReadReplicas:
    """The replicas of one ORM; empty (falsy) when ``Config.replicas`` is."""

    def __init__(
        self,
        members: Sequence[tuple[str, Driver]],
        *,
        backoff: tuple[float, float] = (1.0, 30.0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        first, longest = backoff
        if first <= 0 or longest < first:
            raise ConfigurationError(
                f"replica_backoff must be (first wait, longest wait) in seconds with "
                f"0 < first <= longest, got {backoff!r}"
            )
        self.members = [ReplicaMember(name, driver) for name, driver in members]
        self.backoff = (first, longest)
        self.clock = clock
        self.entities: Sequence[EntityMetadata] = ()
        self.turn = 0

    def __bool__(self) -> bool:
        return bool(self.members)

    def __len__(self) -> int:
        return len(self.members)

    async def connect(self, entities: Sequence[EntityMetadata]) -> None:
        """Open each replica's pool. A replica that does not answer is only taken out of
        rotation (it is tried again after the back-off): the application starts without it."""
        self.entities = entities
        for member in self.members:
            await self.open(member)

    async def close(self) -> None:
        for member in self.members:
            if member.connected:
                member.connected = False
                await member.driver.close()

    def status(self) -> list[ReplicaStatus]:
        now = self.clock()
        return [
            ReplicaStatus(
                name=member.name,
                up=member.up,
                failures=member.failures,
                retry_in=max(member.retry_at - now, 0.0) if not member.up else 0.0,
                last_error=None if member.last_error is None else str(member.last_error),
            )
            for member in self.members
        ]

    # -- reads -----------------------------------------------------------------------------

    async def read(
        self,
        operation: Callable[[Connection], Awaitable[R]],
        *,
        fallback: Callable[[], Awaitable[R]],
    ) -> R:
        """Run ``operation`` on the next replica that is up; if its connection fails, on the
        next one (a read can be sent again); with none left, ``fallback()`` (the primary)."""
        for member in await self.available():
            try:
                async with member.driver.acquire() as connection:
                    result = await operation(connection)
            except PoolTimeoutError:
                continue  # busy, not down: another replica or the primary serves this read
            except TransactionConflictError:
                # A hot standby cancels a read that conflicts with the changes it replays:
                # the read is sent again elsewhere, the replica stays in rotation.
                continue
            except ConnectionError as exc:
                self.mark_down(member, exc)
                continue
            return result
        return await fallback()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection | None]:
        """A connection of the next replica that is up, held for the ``async with`` (a
        streamed read, which cannot move to another server halfway); None when no replica
        can serve it (use the primary)."""
        for member in await self.available():
            held = AsyncExitStack()
            try:
                connection = await held.enter_async_context(member.driver.acquire())
            except PoolTimeoutError:
                continue
            except ConnectionError as exc:
                self.mark_down(member, exc)
                continue
            async with held:
                yield connection
            return
        yield None

    async def available(self) -> list[ReplicaMember]:
        """The replicas to try for the next read, in round-robin order: those up, and those
        down whose back-off has passed and that now answer a ping."""
        count = len(self.members)
        start = self.turn % count
        self.turn = start + 1
        now = self.clock()
        chosen = []
        for member in self.members[start:] + self.members[:start]:
            if member.up or (member.retry_at <= now and await self.recover(member)):
                chosen.append(member)
        return chosen

    # -- health ----------------------------------------------------------------------------

    async def open(self, member: ReplicaMember) -> bool:
        try:
            await member.driver.connect(self.entities)
        except ConnectionError as exc:
            self.mark_down(member, exc)
            return False
        member.connected = True
        return True

    async def recover(self, member: ReplicaMember) -> bool:
        """The health check of a replica that was down: reconnect if its pool never opened,
        then ping it. True when it answers (it is back in rotation)."""
        member.retry_at = self.clock() + self.backoff[0]  # one check at a time
        if not member.connected and not await self.open(member):
            return False
        try:
            async with member.driver.acquire() as connection:
                await connection.ping()
        except ConnectionError as exc:
            self.mark_down(member, exc)
            return False
        if member.failures:
            logger.info(
                "read replica %s answers again after %d failed attempts; reads go to it again",
                member.name,
                member.failures,
            )
        member.failures = 0
        member.retry_at = 0.0
        member.last_error = None
        return True

    def mark_down(self, member: ReplicaMember, error: BaseException) -> None:
        member.failures += 1
        first, longest = self.backoff
        wait = min(first * 2 ** (member.failures - 1), longest)
        member.retry_at = self.clock() + wait
        member.last_error = error
        logger.warning(
            "read replica %s is out of rotation (%s: %s); reads go to the other replicas or "
            "the primary; next check in %.1f s",
            member.name,
            type(error).__name__,
            error,
            wait,
        )


def build_replicas(
    driver_class: type[Driver],
    replicas: Sequence[Replica],
    primary_options: Mapping[str, Any],
    *,
    backoff: tuple[float, float],
) -> ReadReplicas:
    """The :class:`ReadReplicas` of ``Config.replicas``: one driver (one pool) per replica,
    made by the primary's driver class with the primary's options overridden by the
    replica's own."""
    platform = driver_class.platform
    if replicas and not platform.read_replicas:
        raise ConfigurationError(
            f"the {platform.name} driver does not take Config.replicas "
            f"(Platform.read_replicas is False): its own client routes reads to replicas; "
            f"see docs/scaling.md for the {platform.name} settings"
        )
    members: list[tuple[str, Driver]] = []
    for index, replica in enumerate(replicas):
        try:
            driver = driver_class.from_url(replica.url, **{**primary_options, **replica.options})
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"Config.replicas[{index}] ({redact_url(replica.url)!r}): {exc}"
            ) from exc
        members.append((redact_url(replica.url), driver))
    return ReadReplicas(members, backoff=backoff)


def check_routing_options(prefer_read_replicas: object, read_your_writes: object) -> None:
    """The routing options of ``Config``, checked at ``ORM.init``."""
    if not isinstance(prefer_read_replicas, bool):
        raise ConfigurationError(
            f"Config.prefer_read_replicas must be True or False, got {prefer_read_replicas!r}"
        )
    if read_your_writes is not None and (
        isinstance(read_your_writes, bool)
        or not isinstance(read_your_writes, int | float)
        or read_your_writes < 0
    ):
        raise ConfigurationError(
            f"Config.read_your_writes must be None (a fork that wrote reads from the primary "
            f"for the rest of its life) or seconds >= 0, got {read_your_writes!r}"
        )
