"""Optimistic locking in the flush: version values, and finding the rows that were stale.

An entity with ``Property(version=True)`` gets its first version before its INSERT (``1``, or
the current UTC time). Every UPDATE and DELETE of it carries the version the fork loaded
(``UpdateBatch.versions``/``DeleteBatch.versions``): the driver writes only rows that still
have it, and the UPDATE sets the next version. When a statement affects fewer rows than it
was given, the flush stops (:class:`StaleBatch`) and its transaction rolls back; then one
SELECT of those rows finds the stale one and the flush raises
:class:`~orm.core.errors.OptimisticLockError`. The read comes after the rollback because,
inside the transaction, the rows this flush updated would be indistinguishable from rows
someone else moved to the same next version.

Datetime versions count in whole milliseconds (MongoDB keeps no finer time) and always move
forward by at least one, so two writes in the same millisecond still differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from orm.core.driver import Row
from orm.core.errors import OptimisticLockError, ORMError
from orm.core.keys import Key
from orm.core.loading.hydrator import row_key
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, ScalarKind
from orm.core.query.ast import SelectQuery
from orm.core.query.filter import key_condition

_STEP = dt.timedelta(milliseconds=1)


def _now(prop: PropertyMetadata) -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return now if prop.timezone else now.replace(tzinfo=None)


def initial_version(prop: PropertyMetadata) -> Any:
    """The version of a row about to be inserted."""
    return 1 if prop.kind is ScalarKind.INTEGER else _now(prop)


def next_version(prop: PropertyMetadata, current: Any) -> Any:
    """The version an UPDATE sets on a row whose version is ``current``."""
    if current is None:
        return initial_version(prop)
    if prop.kind is ScalarKind.INTEGER:
        return current + 1
    now = _now(prop)
    if current.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    elif current.tzinfo is not None and now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return max(now, current + _STEP)


def stale_error(
    meta: EntityMetadata,
    key: Key,
    expected: Any,
    current: Any,
    *,
    gone: bool,
    unread: bool = False,
    in_flush: bool = True,
) -> OptimisticLockError:
    shown = ", ".join(
        f"{column.name}={value!r}" for column, value in zip(meta.pk_columns, key, strict=False)
    )
    if unread:
        what = f"was changed by someone else since it was loaded at version {expected!r}"
    elif gone:
        what = f"was deleted by someone else (expected version {expected!r}, found no row)"
    else:
        what = (
            f"was changed by someone else since it was loaded: expected version {expected!r}, "
            f"found {current!r}"
        )
    written = " Nothing of this flush was written." if in_flush else ""
    return OptimisticLockError(
        f"{meta.class_name} ({shown}) {what}.{written} Load the {meta.class_name} again (a new "
        f"fork, or em.refresh) and apply the change to it",
        entity=meta.class_name,
        key=key,
        expected=expected,
        current=current,
    )


class StaleBatch(Exception):
    """Raised inside the flush's transaction when a versioned write affected fewer rows than
    it was given; the Unit of Work turns it into an OptimisticLockError once the transaction
    (or savepoint) rolled back, when a read no longer sees this flush's own writes."""

    def __init__(self, meta: EntityMetadata, rows: Sequence[tuple[Key, Any]]) -> None:
        super().__init__(f"stale {meta.class_name} rows")
        self.meta = meta
        self.rows = list(rows)


async def stale_rows_error(
    find: Callable[[SelectQuery], Awaitable[list[Row]]], stale: StaleBatch
) -> OptimisticLockError:
    """The OptimisticLockError for the first stale row of ``stale``: one SELECT of its rows
    (``find`` runs it after the rollback), compared with the versions the fork loaded."""
    meta, rows = stale.meta, stale.rows
    version = meta.version_property
    assert version is not None
    try:
        found = await find(SelectQuery(meta, key_condition(meta, [k for k, _ in rows])))
    except ORMError:
        # The read is only for the message (a failed MongoDB transaction refuses it).
        found = None
    if found is not None:
        current = {row_key(meta, row): row.get(version.name) for row in found}
        for key, expected in rows:
            if key not in current:
                return stale_error(meta, key, expected, None, gone=True)
            if current[key] != expected:
                return stale_error(meta, key, expected, current[key], gone=False)
    # The rows read back as loaded (a transaction's older snapshot): one of them is stale.
    key, expected = rows[0]
    return stale_error(meta, key, expected, None, gone=False, unread=True)
