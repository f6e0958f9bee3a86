"""A loopback TCP proxy that injects network faults between a driver and its database server.

The tests point an ORM at the proxy (127.0.0.1, an ephemeral port) instead of the server, and
tell the proxy what to break: cut every connection (or one) after N bytes from the client, cut
at the K-th statement, run a callback when the K-th statement passes (to cancel a task while it
waits for the answer), or delay the server's answers. It counts connections opened and closed
and the statements it saw.

It only ever connects to 127.0.0.1, and every loop ends when either side closes or the proxy
stops (``stop()`` closes every connection and waits for the pumps).

What counts as a statement (minimal parsing of the client -> server direction only):

- PostgreSQL (frontend protocol v3): after the untyped startup messages (SSLRequest,
  GSSENCRequest, StartupMessage; a CancelRequest connection sends nothing else), every message
  is ``type byte + int32 length (including itself) + body``. ``Q`` (simple query) and ``E``
  (Execute of the extended protocol) each run one statement; ``P``/``B``/``D``/``S``/... are
  counted per type in :attr:`FaultProxy.frames` but are not statements.
- MySQL/MariaDB: every packet is ``int24 length + sequence byte + payload``. A packet with
  sequence 0 starts a command; ``COM_QUERY`` (0x03) and ``COM_STMT_EXECUTE`` (0x17) are
  statements. The login exchange uses sequences >= 1 and is never counted. Payloads of 16 MiB
  and more (split packets) are not reassembled: the tests never send such statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Protocol = Literal["postgres", "mysql"]
LOOPBACK = "127.0.0.1"
CHUNK = 65536

_PG_UNTYPED_THEN_MORE = {80877103, 80877104}  # SSLRequest, GSSENCRequest
_PG_STARTUP = 196608  # protocol 3.0
_PG_STATEMENTS = {b"Q", b"E"}
_MYSQL_STATEMENTS = {0x03: "COM_QUERY", 0x17: "COM_STMT_EXECUTE"}


@dataclass
class Statement:
    """One statement the proxy saw: which connection, its kind, and the start of its SQL."""

    number: int  # 1-based, over every connection since the last reset()
    connection: int
    kind: str
    text: str


@dataclass
class _Fault:
    """What to do to client -> server traffic; one at a time, set through the proxy's API."""

    cut_after_bytes: int | None = None
    only_connections: frozenset[int] | None = None
    cut_at_statement: int | None = None
    forward_then_cut: bool = False
    on_statement: dict[int, Callable[[Statement], None]] = field(default_factory=dict)
    on_sql: tuple[str, Callable[[Statement], None]] | None = None


class _Framer:
    """Splits a client's byte stream into protocol messages (see the module docstring)."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.buffer = bytearray()
        self.startup = protocol == "postgres"

    def feed(self, data: bytes) -> list[tuple[bytes, str | None, str]]:
        """Complete messages as ``(raw bytes, statement kind or None, frame name)``."""
        self.buffer += data
        messages: list[tuple[bytes, str | None, str]] = []
        while True:
            message = self._next()
            if message is None:
                return messages
            messages.append(message)

    def _next(self) -> tuple[bytes, str | None, str] | None:
        buffer = self.buffer
        if self.protocol == "mysql":
            if len(buffer) < 4:
                return None
            length = buffer[0] | buffer[1] << 8 | buffer[2] << 16
            if len(buffer) < 4 + length:
                return None
            raw = bytes(buffer[: 4 + length])
            del buffer[: 4 + length]
            command = raw[4] if length and raw[3] == 0 else None
            kind = _MYSQL_STATEMENTS.get(command) if command is not None else None
            return raw, kind, f"command 0x{command:02x}" if command is not None else "login"
        if self.startup:
            if len(buffer) < 8:
                return None
            length, code = struct.unpack("!ii", buffer[:8])
            if len(buffer) < length:
                return None
            raw = bytes(buffer[:length])
            del buffer[:length]
            if code not in _PG_UNTYPED_THEN_MORE:
                self.startup = False  # StartupMessage (or CancelRequest: nothing follows)
            return raw, None, "startup"
        if len(buffer) < 5:
            return None
        (length,) = struct.unpack("!i", buffer[1:5])
        if len(buffer) < 1 + length:
            return None
        raw = bytes(buffer[: 1 + length])
        del buffer[: 1 + length]
        frame = raw[:1]
        kind = frame.decode() if frame in _PG_STATEMENTS else None
        return raw, kind, frame.decode("latin-1")


def _sql_text(protocol: Protocol, raw: bytes) -> str:
    """The start of the SQL of a statement message (an Execute carries none: its portal's)."""
    if protocol == "mysql":
        body = raw[5:] if raw[4] == 0x03 else b""
    else:
        body = raw[5:].split(b"\0", 1)[0] if raw[:1] == b"Q" else b""
    return body[:200].decode("utf-8", "replace")


class FaultProxy:
    """``async with FaultProxy("postgres", 5432) as proxy:`` then connect to ``proxy.port``."""

    def __init__(self, protocol: Protocol, upstream_port: int) -> None:
        self.protocol: Protocol = protocol
        self.upstream_port = upstream_port
        self.port = 0
        self.opened = 0
        self.closed = 0
        self.cuts = 0
        self.client_bytes = 0  # client -> server bytes since the last reset()
        self.upstream_closed = 0  # server connections that ended (the server closed or we did)
        self.delay = 0.0  # seconds added before each server -> client chunk is forwarded
        self.statements: list[Statement] = []
        self.frames: Counter[str] = Counter()
        self._fault = _Fault()
        self._server: asyncio.Server | None = None
        self._connections: dict[int, tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_id = 0
        self._bytes_seen: dict[int, int] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.cut_all()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def open_connections(self) -> int:
        return self.opened - self.closed

    @property
    def live_connections(self) -> set[int]:
        """The ids of the connections open now (ids count up from 1)."""
        return set(self._connections)

    # -- faults ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Heal: forget every fault, the delay and the statements seen so far."""
        self._fault = _Fault()
        self.delay = 0.0
        self.statements.clear()
        self.frames.clear()
        self.client_bytes = 0

    def cut_after_bytes(self, count: int, connections: set[int] | None = None) -> None:
        """Cut each connection (or only those of ``connections``) once it sent ``count`` more
        bytes; the message that crosses the limit reaches the server only in part."""
        only = frozenset(connections) if connections is not None else None
        self._fault = _Fault(cut_after_bytes=count, only_connections=only)
        self._bytes_seen = {}

    def cut_at_statement(self, number: int, *, forward: bool = False) -> None:
        """Cut the connection carrying statement ``number`` (counted from now, over every
        connection): before the server gets it, or with ``forward`` just after it was sent, so
        the server runs it but the client never learns the outcome."""
        self.statements.clear()
        self._fault = _Fault(cut_at_statement=number, forward_then_cut=forward)

    def on_statement(self, number: int, callback: Callable[[Statement], None]) -> None:
        """Call ``callback`` when statement ``number`` (counted from now) is forwarded."""
        self.statements.clear()
        self._fault = _Fault(on_statement={number: callback})

    def on_sql(self, prefix: str, callback: Callable[[Statement], None]) -> None:
        """Call ``callback`` when the next statement whose SQL starts with ``prefix`` is
        forwarded (a simple query's text: PostgreSQL ``Q`` messages, MySQL COM_QUERY)."""
        self.statements.clear()
        self._fault = _Fault(on_sql=(prefix.upper(), callback))

    def cut_all(self) -> None:
        """Cut every open connection now."""
        for connection in list(self._connections):
            self._cut(connection)

    def _cut(self, connection: int) -> None:
        writers = self._connections.pop(connection, None)
        if writers is None:
            return
        self.cuts += 1
        self.closed += 1
        client, server = writers
        client.transport.abort()  # like a network failure: no goodbye to the client
        # The server gets what was already written (a forwarded statement), then end of file;
        # its pump reads on until the server closes its side (see ``upstream_closed``).
        if server.can_write_eof():
            server.write_eof()
        else:
            server.close()

    # -- pumps -----------------------------------------------------------------------------

    async def _accept(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        self._next_id += 1
        connection = self._next_id
        try:
            server_reader, server = await asyncio.open_connection(LOOPBACK, self.upstream_port)
        except OSError:
            client.transport.abort()
            return
        self.opened += 1
        self._connections[connection] = (client, server)
        pumps = [
            asyncio.create_task(self._client_to_server(connection, client_reader, server)),
            asyncio.create_task(self._server_to_client(connection, server_reader, client, server)),
        ]
        for task in pumps:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Either side ending ends the connection; the other pump then sees EOF or an abort.
        # Cancelled (the loop is shutting down): close below; stop() cancels the pumps.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        if connection in self._connections:
            self._connections.pop(connection)
            self.closed += 1
            client.close()
            server.close()

    async def _server_to_client(
        self,
        connection: int,
        reader: asyncio.StreamReader,
        client: asyncio.StreamWriter,
        server: asyncio.StreamWriter,
    ) -> None:
        """Until the server closes: after a cut its answers are read and dropped, so that
        ``upstream_closed`` tells when the server is done with the session (e.g. committed)."""
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while True:
                    data = await reader.read(CHUNK)
                    if not data:
                        return
                    if connection not in self._connections:
                        continue  # cut: the client is gone
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    if connection in self._connections:
                        client.write(data)
                        await client.drain()
        finally:
            self.upstream_closed += 1
            server.close()

    async def _client_to_server(
        self, connection: int, reader: asyncio.StreamReader, server: asyncio.StreamWriter
    ) -> None:
        framer = _Framer(self.protocol)
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while connection in self._connections:
                data = await reader.read(CHUNK)
                if not data:
                    return
                for raw, kind, frame in framer.feed(data):
                    self.frames[frame] += 1
                    if not self._forward(connection, server, raw, kind):
                        return
                await server.drain()

    def _forward(
        self, connection: int, server: asyncio.StreamWriter, raw: bytes, kind: str | None
    ) -> bool:
        """Send one message on (or cut the connection); False once the connection is cut."""
        fault = self._fault
        self.client_bytes += len(raw)
        only = fault.only_connections
        if fault.cut_after_bytes is not None and (only is None or connection in only):
            seen = self._bytes_seen.get(connection, 0)
            room = fault.cut_after_bytes - seen
            if len(raw) >= room:
                server.write(raw[: max(room, 0)])
                self._cut(connection)
                return False
            self._bytes_seen[connection] = seen + len(raw)
        if kind is not None:
            statement = Statement(
                len(self.statements) + 1, connection, kind, _sql_text(self.protocol, raw)
            )
            self.statements.append(statement)
            if fault.cut_at_statement == statement.number:
                if fault.forward_then_cut:
                    server.write(raw)
                self._cut(connection)
                return False
            callback = fault.on_statement.get(statement.number)
            if callback is not None:
                callback(statement)
            if fault.on_sql is not None and statement.text.upper().startswith(fault.on_sql[0]):
                fault.on_sql[1](statement)
                fault.on_sql = None
        server.write(raw)
        return True
