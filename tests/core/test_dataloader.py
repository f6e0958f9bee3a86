"""The DataLoader: loads issued in the same event-loop tick become one batch call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orm.core.loading.dataloader import DataLoader


class Recorder:
    """A batch function that records the items of every call and answers ``{item: item * 10}``."""

    def __init__(self, *, fail: BaseException | None = None, result: Any = ...) -> None:
        self.calls: list[list[Any]] = []
        self.fail = fail
        self.result = result

    async def __call__(self, items: list[Any]) -> dict[Any, Any] | None:
        self.calls.append(list(items))
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        if self.result is not ...:
            return self.result  # type: ignore[no-any-return]
        return {item: item * 10 for item in items}


async def test_loads_gathered_in_one_tick_are_one_call() -> None:
    loader, batch = DataLoader(), Recorder()
    results = await asyncio.gather(
        *(loader.load("authors", batch, i, result_key=i) for i in range(50))
    )
    assert len(batch.calls) == 1
    assert batch.calls[0] == list(range(50))
    assert results == [i * 10 for i in range(50)]


async def test_loads_from_coroutines_a_few_awaits_deep_still_merge() -> None:
    loader, batch = DataLoader(), Recorder()

    async def load(i: int) -> Any:
        await asyncio.sleep(0)  # tasks started by gather reach load() one iteration later
        return await loader.load("authors", batch, i, result_key=i)

    results = await asyncio.gather(*(load(i) for i in range(50)))
    assert len(batch.calls) == 1
    assert sorted(batch.calls[0]) == list(range(50))
    assert results == [i * 10 for i in range(50)]


async def test_results_are_routed_by_result_key() -> None:
    loader = DataLoader()

    async def batch(items: list[Any]) -> dict[Any, Any]:
        return {f"key-{item}": f"value-{item}" for item in items}

    first = loader.load("g", batch, 1, result_key="key-1")
    second = loader.load("g", batch, 2, result_key="key-2")
    missing = loader.load("g", batch, 3, result_key="nothing")
    assert await asyncio.gather(second, first, missing) == ["value-2", "value-1", None]


async def test_same_item_twice_is_passed_twice_and_both_waiters_answered() -> None:
    loader, batch = DataLoader(), Recorder()
    results = await asyncio.gather(
        loader.load("g", batch, 7, result_key=7), loader.load("g", batch, 7, result_key=7)
    )
    assert results == [70, 70]
    assert batch.calls == [[7, 7]]


async def test_a_batch_function_returning_none_answers_none() -> None:
    loader, batch = DataLoader(), Recorder(result=None)
    results = await asyncio.gather(*(loader.load("g", batch, i, result_key=i) for i in range(3)))
    assert results == [None, None, None]
    assert len(batch.calls) == 1


async def test_an_exception_reaches_every_waiter() -> None:
    error = LookupError("the database went away")
    loader, batch = DataLoader(), Recorder(fail=error)
    results = await asyncio.gather(
        *(loader.load("g", batch, i, result_key=i) for i in range(5)), return_exceptions=True
    )
    assert results == [error] * 5
    assert len(batch.calls) == 1


async def test_a_failed_batch_does_not_poison_the_next_one() -> None:
    loader = DataLoader()
    failing = Recorder(fail=RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        await loader.load("g", failing, 1, result_key=1)
    working = Recorder()
    assert await loader.load("g", working, 1, result_key=1) == 10


async def test_separate_groups_get_separate_calls() -> None:
    loader, authors, books = DataLoader(), Recorder(), Recorder()
    results = await asyncio.gather(
        loader.load("authors", authors, 1, result_key=1),
        loader.load("books", books, 2, result_key=2),
        loader.load("authors", authors, 3, result_key=3),
        loader.load("books", books, 4, result_key=4),
    )
    assert results == [10, 20, 30, 40]
    assert authors.calls == [[1, 3]]
    assert books.calls == [[2, 4]]


async def test_a_group_keeps_the_function_of_its_first_load() -> None:
    loader, first, second = DataLoader(), Recorder(), Recorder()
    await asyncio.gather(
        loader.load("g", first, 1, result_key=1), loader.load("g", second, 2, result_key=2)
    )
    assert first.calls == [[1, 2]]
    assert second.calls == []


async def test_loads_in_different_ticks_get_separate_calls() -> None:
    loader, batch = DataLoader(), Recorder()
    assert await loader.load("g", batch, 1, result_key=1) == 10
    assert await loader.load("g", batch, 2, result_key=2) == 20
    assert await loader.load("g", batch, 3, result_key=3) == 30
    assert batch.calls == [[1], [2], [3]]


async def test_loads_issued_while_a_batch_runs_form_the_next_batch() -> None:
    loader = DataLoader()
    calls: list[list[int]] = []
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(items: list[Any]) -> dict[Any, Any]:
        calls.append(list(items))
        started.set()
        await release.wait()
        return {i: i for i in items}

    first = asyncio.ensure_future(loader.load("g", slow, 1, result_key=1))
    await started.wait()
    second = asyncio.ensure_future(loader.load("g", slow, 2, result_key=2))
    for _ in range(10):
        await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(first, second) == [1, 2]
    assert calls == [[1], [2]]


async def test_cancelling_one_waiter_leaves_the_others_answered() -> None:
    loader, batch = DataLoader(), Recorder()
    futures = [loader.load("g", batch, i, result_key=i) for i in range(3)]
    futures[1].cancel()
    assert await futures[0] == 0
    assert await futures[2] == 20
    assert batch.calls == [[0, 1, 2]]
