"""What a read asked for: ``connection="read"`` (a replica) or ``"write"`` (the primary).

The find family takes ``connection=``; the reads it makes happen several calls further down
(populate, the dataloader), so the request travels in a context variable for the duration of
the call. :mod:`orm.core.connections` reads it when it routes a read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

from orm.core.errors import ValidationError

ConnectionType = Literal["read", "write"]

_requested: ContextVar[ConnectionType | None] = ContextVar("orm_requested_connection", default=None)


def check_connection_type(value: object, *, where: str) -> ConnectionType | None:
    """``value`` as a connection type, or a ValidationError naming the call."""
    if value == "read":
        return "read"
    if value == "write":
        return "write"
    if value is None:
        return None
    raise ValidationError(
        f"{where}: connection must be 'read' (a read replica), 'write' (the primary) or None "
        f"(the routing rules decide), got {value!r}"
    )


@contextmanager
def requested_connection(value: ConnectionType | None) -> Iterator[None]:
    """Send the reads made inside the ``with`` to ``value``'s server (None: the rules decide).

    Never hold it across a ``yield`` of an async generator: the generator shares its
    consumer's context.
    """
    if value is None:
        yield
        return
    token = _requested.set(value)
    try:
        yield
    finally:
        _requested.reset(token)


def requested_route() -> ConnectionType | None:
    """What the surrounding call asked for, or None."""
    return _requested.get()
