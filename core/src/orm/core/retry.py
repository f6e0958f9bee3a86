"""``retry_transaction``: run a unit of work in a transaction, again when a concurrent one
conflicted with it.

A :class:`~orm.core.errors.TransactionConflictError` (a serialization failure, a deadlock, a
MongoDB write conflict) means the database rolled the transaction back and kept nothing of it,
so running the whole unit of work again is safe and usually succeeds. Each attempt gets a fresh
fork: the entities a failed attempt loaded hold what it read, which the conflict just proved
stale. See docs/scaling.md#retrying-transactions.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from orm.core.errors import TransactionConflictError, ValidationError

if TYPE_CHECKING:
    from orm.core.driver import IsolationLevel
    from orm.core.entity_manager import EntityManager

__all__ = ["retry_transaction"]

R = TypeVar("R")

logger = logging.getLogger("orm.retry")

# The longest pause between two attempts, whatever the backoff: a conflict is over once the
# other transaction ends, which takes milliseconds, not seconds.
MAX_PAUSE = 1.0


async def retry_transaction(
    em: EntityManager,
    work: Callable[[EntityManager], Awaitable[R]],
    *,
    attempts: int = 3,
    isolation_level: IsolationLevel | None = None,
    backoff: float = 0.02,
) -> R:
    """Run ``work(fork)`` in a transaction on a fresh fork of ``em``; run it again, on another
    fresh fork, when it fails with a :class:`~orm.core.errors.TransactionConflictError` (which
    includes :class:`~orm.core.errors.DeadlockError`). Returns what ``work`` returned, once
    its transaction committed.

    ::

        async def transfer(em: EntityManager) -> None:
            source = await em.find_one_or_fail(Account, source_id)
            target = await em.find_one_or_fail(Account, target_id)
            source.balance -= amount
            target.balance += amount

        await retry_transaction(orm.em, transfer, isolation_level=IsolationLevel.SERIALIZABLE)

    Any other exception propagates at once (the transaction rolled back). Before attempt
    ``n + 1`` it sleeps ``backoff * 2 ** (n - 1)`` seconds times a random factor in
    [0.5, 1.5), at most 1 s, so the colliding transactions do not meet again in lockstep. When
    the last of ``attempts`` attempts conflicts, that error is raised with a note saying so.

    ``work`` may run several times: side effects outside the database (e-mails, HTTP calls)
    belong after ``retry_transaction`` returns, or must be idempotent. ``em`` is only forked,
    so the global ``orm.em`` will do; it must not be inside a transaction, because a conflict
    aborts the whole outer transaction and no retry inside it could succeed
    (a :class:`~orm.core.errors.ValidationError`, as are ``attempts < 1``, a negative
    ``backoff`` or a ``work`` that is not callable, all raised before any I/O).
    """
    _check_arguments(em, work, attempts, backoff)
    for attempt in range(1, attempts + 1):
        fork = em.fork()
        try:
            async with fork.transaction(isolation_level=isolation_level):
                return await work(fork)
        except TransactionConflictError as exc:
            if attempt == attempts:
                exc.add_note(
                    f"retry_transaction gave up after {attempts} attempt"
                    f"{'s' if attempts != 1 else ''}: each one conflicted with a concurrent "
                    f"transaction. Raise attempts= (or backoff=), make the contended "
                    f"transactions shorter, or have them take row locks in one order (e.g. by "
                    f"primary key, with lock_mode=LockMode.PESSIMISTIC_WRITE where the database "
                    f"has row locks) so that they wait for each other instead of conflicting"
                )
                raise
            pause = pause_before_retry(backoff, attempt)
            logger.info(
                "transaction attempt %d of %d conflicted (%s: %s); retrying in %.3f s",
                attempt,
                attempts,
                type(exc).__name__,
                exc,
                pause,
                extra={"conflict": exc, "attempt": attempt},
            )
            await asyncio.sleep(pause)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _check_arguments(
    em: EntityManager,
    work: Callable[[EntityManager], Awaitable[R]],
    attempts: int,
    backoff: float,
) -> None:
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValidationError(
            f"retry_transaction(attempts={attempts!r}): attempts must be an int of at least 1 "
            f"(the first run counts as one attempt)"
        )
    if not callable(work):
        raise ValidationError(
            f"retry_transaction(em, work): work must be an async function taking the "
            f"EntityManager fork of each attempt, not {type(work).__name__} {work!r}"
        )
    if (
        isinstance(backoff, bool)
        or not isinstance(backoff, int | float)
        or not math.isfinite(backoff)
        or backoff < 0
    ):
        raise ValidationError(
            f"retry_transaction(backoff={backoff!r}): backoff must be a finite number of "
            f"seconds, 0 or more"
        )
    if em.in_transaction:
        raise ValidationError(
            "retry_transaction was given an EntityManager inside a transaction: a conflict "
            "rolls back the whole outer transaction, so retrying only the inner work cannot "
            "succeed. Call retry_transaction outside any em.transaction() block (e.g. with "
            "orm.em) and put the whole transaction in work"
        )


def pause_before_retry(backoff: float, failed_attempt: int) -> float:
    """Seconds to sleep after attempt ``failed_attempt`` (1-based) conflicted: exponential,
    with jitter so two colliding transactions do not retry in lockstep."""
    jitter = 0.5 + random.random()  # [0.5, 1.5)
    doubling = 2.0 ** min(failed_attempt - 1, 60)  # bounded: many attempts must not overflow
    return min(backoff * doubling * jitter, MAX_PAUSE)
