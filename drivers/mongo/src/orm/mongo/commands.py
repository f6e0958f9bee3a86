"""Running one MongoDB command: timed, logged on ``orm.sql`` and its errors translated.

The log shows a command's shape, never its values (as the SQL drivers log statements with
placeholders): ``find author {"name": {"$regex": ?}} sort {"name": 1} limit ?``. Each record's
``operation`` is the portable verb (``SELECT``, ``INSERT`` (upserts too), ``UPDATE``,
``DELETE``, ``BEGIN``, ``COMMIT``, ``ROLLBACK``, ``SEQUENCE``, ``CREATE``, ``DROP``) and its
``target`` the collection, so the same test counts what was sent on every database.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from orm.core.query_log import log_command, logger
from orm.mongo.errors import translate_error

T = TypeVar("T")

# Stages the driver writes that carry no user values (field names, directions, counters).
_STRUCTURE_STAGES = frozenset(
    {
        "$sort",
        "$project",
        "$group",
        "$unwind",
        "$replaceRoot",
        "$addFields",
        "$count",
        "sort",
        "projection",
    }
)
# Values under these keys are names (collections, fields, index names), not user data.
_STRUCTURE_KEYS = frozenset(
    {"from", "localField", "foreignField", "as", "$options", "$unwind", "path", "$type", "$count"}
)


def _masked(value: Any, counter: list[int], *, key: str | None = None) -> Any:
    if key in _STRUCTURE_STAGES:
        return value
    if isinstance(value, dict):
        return {k: _masked(v, counter, key=k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if key in ("$in", "$nin", "$all") and value and not isinstance(value[0], dict):
            counter[0] += len(value)
            return f"?x{len(value)}"
        return [_masked(item, counter) for item in value]
    if isinstance(value, str) and key in _STRUCTURE_KEYS:
        return value
    counter[0] += 1
    return "?"


def describe(operation: str, collection: str, *parts: tuple[str, Any]) -> tuple[str, int]:
    """The logged text of a command and how many values it carries."""
    counter = [0]
    pieces = [operation, collection]
    for label, value in parts:
        shown = json.dumps(
            _masked(value, counter, key=label or None), default=str, separators=(", ", ": ")
        )
        pieces.append(f"{label} {shown}" if label else shown)
    return " ".join(pieces), counter[0]


async def run_command(
    verb: str,
    collection: str | None,
    text: Callable[[], tuple[str, int]],
    call: Callable[[], Awaitable[T]],
    *,
    target: str | None = None,
) -> T:
    """Await ``call``; log ``text()`` (built only when logging is on) as operation ``verb``
    on ``target`` (by default the ``collection`` the command runs on)."""
    started = time.perf_counter()
    try:
        return await call()
    except Exception as exc:
        shown = text()[0] if logger.isEnabledFor(logging.DEBUG) else None
        raise translate_error(exc, collection=collection, command=shown) from exc
    finally:
        if logger.isEnabledFor(logging.DEBUG):
            shown, count = text()
            duration = (time.perf_counter() - started) * 1000
            log_command(verb, shown, count, duration, target=target or collection)
