"""Merge loads issued in the same event-loop tick into one query per entity or relation.

``asyncio.gather(*(a.books.load() for a in authors))`` enqueues one request per author; the
batch is dispatched a couple of loop iterations later (long enough for every task started in the
same tick to enqueue), as one ``WHERE author_id IN (...)`` query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

BatchFunction = Callable[[list[Any]], Awaitable[dict[Any, Any] | None]]

# Loop iterations to wait before dispatching, so loads started by freshly created tasks
# (asyncio.gather) and a few awaits deep still join the batch.
_DISPATCH_DELAY_TICKS = 3


class _Batch:
    __slots__ = ("function", "items")

    def __init__(self, function: BatchFunction) -> None:
        self.function = function
        self.items: list[tuple[Any, Hashable, asyncio.Future[Any]]] = []


class DataLoader:
    def __init__(self) -> None:
        self._batches: dict[Hashable, _Batch] = {}
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def load(
        self, group: Hashable, function: BatchFunction, item: Any, *, result_key: Hashable
    ) -> asyncio.Future[Any]:
        """Queue ``item``; the future resolves to ``function(items)[result_key]`` (or None)."""
        loop = asyncio.get_running_loop()
        batch = self._batches.get(group)
        if batch is None:
            batch = self._batches[group] = _Batch(function)
        future: asyncio.Future[Any] = loop.create_future()
        batch.items.append((item, result_key, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._tick, _DISPATCH_DELAY_TICKS)
        return future

    def load_all(
        self, group: Hashable, function: BatchFunction, items: list[Any]
    ) -> asyncio.Future[Any]:
        """Queue several items at once; the future resolves once the batch holding them ran
        (its result is not looked up: ``function`` works through side effects)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not items:
            future.set_result(None)
            return future
        batch = self._batches.get(group)
        if batch is None:
            batch = self._batches[group] = _Batch(function)
        batch.items.extend((item, None, future) for item in items)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._tick, _DISPATCH_DELAY_TICKS)
        return future

    def _tick(self, remaining: int) -> None:
        loop = asyncio.get_running_loop()
        if remaining > 0:
            loop.call_soon(self._tick, remaining - 1)
            return
        self._scheduled = False
        batches, self._batches = self._batches, {}
        for batch in batches.values():
            task = loop.create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run(batch: _Batch) -> None:
        items = [item for item, _, _ in batch.items]
        try:
            results = await batch.function(items)
        except BaseException as exc:  # every waiter must hear about the failure
            for _, _, future in batch.items:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for _, result_key, future in batch.items:
            if not future.done():
                future.set_result(None if results is None else results.get(result_key))
