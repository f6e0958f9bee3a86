"""A small async connection pool for database libraries that do not ship one (aiosqlite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from orm.core.errors import PoolTimeoutError

C = TypeVar("C")


class SimplePool(Generic[C]):
    def __init__(
        self,
        factory: Callable[[], Awaitable[C]],
        closer: Callable[[C], Awaitable[None]],
        *,
        max_size: int,
        acquire_timeout: float,
        name: str,
    ) -> None:
        self._factory = factory
        self._closer = closer
        self._max_size = max_size
        self._timeout = acquire_timeout
        self._name = name
        self._idle: list[C] = []
        self._all: list[C] = []
        self._available = asyncio.Condition()
        self._closed = False

    @property
    def max_size(self) -> int:
        return self._max_size

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[C]:
        connection = await self._checkout()
        try:
            yield connection
        finally:
            async with self._available:
                self._idle.append(connection)
                self._available.notify()

    async def _checkout(self) -> C:
        async with self._available:
            if self._idle:
                return self._idle.pop()
            if len(self._all) < self._max_size:
                connection = await self._factory()
                self._all.append(connection)
                return connection
            try:
                await asyncio.wait_for(
                    self._available.wait_for(lambda: bool(self._idle)), self._timeout
                )
            except TimeoutError:
                raise PoolTimeoutError(
                    f"no {self._name} connection became free within {self._timeout:g} s (all "
                    f"{self._max_size} are in use); raise pool_max_size or acquire_timeout, or "
                    f"release connections sooner (long transactions hold one each)"
                ) from None
            return self._idle.pop()

    async def close(self) -> None:
        self._closed = True
        for connection in self._all:
            await self._closer(connection)
        self._all.clear()
        self._idle.clear()
