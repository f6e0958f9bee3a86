"""Transaction propagation: what ``em.transaction(propagation=...)`` does with the transaction
already open on the fork (docs/transactions.md#propagation).

:func:`block_for` turns a mode and the fork's situation into the kind of block to run, and
refuses, before any I/O, what the mode or the database does not allow; running the block is
:mod:`orm.core.transactions`.
"""

from __future__ import annotations

import enum
from typing import Literal

from orm.core.driver import Driver, IsolationLevel
from orm.core.errors import EntityStateError, ValidationError


class Propagation(enum.StrEnum):
    """How a transaction block relates to the transaction already open on the fork.

    The names and meanings are Spring's and MikroORM's. Each mode's effect on the database and
    on the fork is tabled in docs/transactions.md#propagation.
    """

    #: Join the open transaction (no savepoint: a failure dooms it); else start one.
    REQUIRED = "required"
    #: A new transaction on another connection, in a fork of its own; commits on its own.
    REQUIRES_NEW = "requires_new"
    #: A savepoint in the open transaction; else start one. The default.
    NESTED = "nested"
    #: Join the open transaction; else run without one.
    SUPPORTS = "supports"
    #: Run without a transaction, in a fork of its own, outside the open one.
    NOT_SUPPORTED = "not_supported"
    #: Join the open transaction; an EntityStateError if there is none.
    MANDATORY = "mandatory"
    #: Run without a transaction; an EntityStateError if one is open.
    NEVER = "never"


PropagationName = Literal[
    "required", "requires_new", "nested", "supports", "not_supported", "mandatory", "never"
]


class Block(enum.Enum):
    """The kind of block a transaction block runs as."""

    BEGIN = "a new transaction on this fork"
    SAVEPOINT = "a savepoint in the open transaction"
    JOIN = "the open transaction, joined"
    WITHOUT = "no transaction, on this fork"
    NEW_FORK_BEGIN = "a new transaction on a new fork"
    NEW_FORK_WITHOUT = "no transaction, on a new fork"


_STARTS_A_TRANSACTION = (Block.BEGIN, Block.NEW_FORK_BEGIN)


def parse_propagation(value: object) -> Propagation:
    """A :class:`Propagation`, from itself or its name (``"requires_new"``, any case)."""
    if isinstance(value, Propagation):
        return value
    if isinstance(value, str):
        try:
            return Propagation(value.strip().lower().replace("-", "_"))
        except ValueError:
            pass
    choices = ", ".join(repr(mode.value) for mode in Propagation)
    raise ValidationError(
        f"em.transaction(propagation={value!r}) is not a propagation mode; pass a Propagation "
        f"member or one of {choices}"
    )


def block_for(
    mode: Propagation,
    *,
    in_transaction: bool,
    driver: Driver,
    isolation_level: IsolationLevel | None,
) -> Block:
    """The block ``mode`` runs as, given whether the fork has a transaction open; raises what
    cannot run, before any I/O."""
    block = _choose(mode, in_transaction)
    platform = driver.platform
    if block in _STARTS_A_TRANSACTION and not platform.transactions:
        raise ValidationError(
            f"the {platform.name} driver has no transactions (Platform.transactions is "
            f"False), so em.transaction(propagation={mode.value!r}) cannot make its block "
            f"atomic; call em.flush() instead, where each write is atomic on its own, or use "
            f'propagation="supports", which runs the block without a transaction'
        )
    if block is Block.SAVEPOINT and not platform.savepoints:
        raise ValidationError(
            f"the {platform.name} driver has no savepoints (Platform.savepoints is False), so "
            f"em.transaction() cannot be nested inside an open transaction as a savepoint "
            f'(propagation="nested", the default); pass propagation="required" to join the '
            f'outer transaction, propagation="requires_new" for a separate one, or use the '
            f"outer block only"
        )
    if isolation_level is not None and block not in _STARTS_A_TRANSACTION:
        raise ValidationError(
            f"isolation_level can only be set on the outermost transaction: "
            f"em.transaction(propagation={mode.value!r}) runs here as {block.value}, which "
            f"starts no transaction; set it on the block that begins the transaction"
        )
    if in_transaction and block in (Block.NEW_FORK_BEGIN, Block.NEW_FORK_WITHOUT):
        _check_second_connection(mode, driver)
    return block


def _choose(mode: Propagation, in_transaction: bool) -> Block:
    match mode:
        case Propagation.REQUIRES_NEW:
            return Block.NEW_FORK_BEGIN
        case Propagation.NOT_SUPPORTED:
            return Block.NEW_FORK_WITHOUT
        case Propagation.NESTED:
            return Block.SAVEPOINT if in_transaction else Block.BEGIN
        case Propagation.REQUIRED:
            return Block.JOIN if in_transaction else Block.BEGIN
        case Propagation.SUPPORTS:
            return Block.JOIN if in_transaction else Block.WITHOUT
        case Propagation.MANDATORY:
            if not in_transaction:
                raise EntityStateError(
                    'em.transaction(propagation="mandatory") needs a transaction open on the '
                    "fork, and there is none; call it inside `async with em.transaction():`, "
                    'or use propagation="required" to start one when there is none'
                )
            return Block.JOIN
        case Propagation.NEVER:
            if in_transaction:
                raise EntityStateError(
                    'em.transaction(propagation="never") refuses to run inside a transaction, '
                    "and one is open on the fork; call it outside the `async with "
                    'em.transaction():` block, or use propagation="not_supported" to run '
                    "outside the open transaction"
                )
            return Block.WITHOUT


def _check_second_connection(mode: Propagation, driver: Driver) -> None:
    """A block outside the open transaction needs a second connection while the fork's
    transaction holds one: where the database allows only one at a time (SQLite) or the
    pool has one, waiting for it would wait for the outer block, which waits for this one."""
    platform = driver.platform
    if platform.concurrent_connections and driver.pool_max_size != 1:
        return
    reason = (
        f"the {platform.name} driver serves one connection at a time "
        f"(Platform.concurrent_connections is False)"
        if not platform.concurrent_connections
        else "the connection pool has one connection (pool_max_size=1)"
    )
    raise ValidationError(
        f"em.transaction(propagation={mode.value!r}) inside an open transaction needs a second "
        f"connection, and {reason}: the block would wait for the outer transaction, which waits "
        f"for the block. Run the work after the outer block, or join the outer transaction "
        f'(propagation="required")'
    )
