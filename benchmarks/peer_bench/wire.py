"""A loopback TCP proxy that counts statements and round trips and can add latency.

It runs its own event loop in a thread, so that its work is not charged to the implementation
being measured on the main loop (it still shares the GIL: timings through it are for the
latency runs, the direct timings are taken without it).

- Statements: PostgreSQL ``Q`` (simple query) and ``E`` (Execute) messages; MySQL/MariaDB
  commands ``COM_QUERY`` and ``COM_STMT_EXECUTE`` (a packet with sequence 0).
- Round trips: on each connection, the number of times the server answers after the client
  sent something since the server's previous answer (a pipeline of messages is one trip).
- Latency: the first chunk of each answer is held ``delay`` seconds, as a network whose round
  trip is ``delay`` longer would; the rest of the same answer follows it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from typing import Literal

Protocol = Literal["postgres", "mysql"]
LOOPBACK = "127.0.0.1"
CHUNK = 65536
PG_STARTUP_CODES_THEN_MORE = {80877103, 80877104}  # SSLRequest, GSSENCRequest
MYSQL_STATEMENT_COMMANDS = {0x03, 0x17}  # COM_QUERY, COM_STMT_EXECUTE


class StatementCounter:
    """Splits a client's byte stream into protocol messages and counts the statements."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.buffer = bytearray()
        self.in_startup = protocol == "postgres"

    def feed(self, data: bytes) -> int:
        self.buffer += data
        statements = 0
        while True:
            found = self.next_message()
            if found is None:
                return statements
            statements += found

    def next_message(self) -> int | None:
        """1 for a statement, 0 for another message, None when the buffer ends mid-message."""
        buffer = self.buffer
        if self.protocol == "mysql":
            if len(buffer) < 4:
                return None
            length = buffer[0] | buffer[1] << 8 | buffer[2] << 16
            if len(buffer) < 4 + length:
                return None
            is_statement = length > 0 and buffer[3] == 0 and buffer[4] in MYSQL_STATEMENT_COMMANDS
            del buffer[: 4 + length]
            return int(is_statement)
        if self.in_startup:
            if len(buffer) < 8:
                return None
            length, code = struct.unpack("!ii", buffer[:8])
            if len(buffer) < length:
                return None
            del buffer[:length]
            self.in_startup = code in PG_STARTUP_CODES_THEN_MORE
            return 0
        if len(buffer) < 5:
            return None
        (length,) = struct.unpack("!i", buffer[1:5])
        if len(buffer) < 1 + length:
            return None
        is_statement = buffer[0] in b"QE"  # Query, Execute
        del buffer[: 1 + length]
        return int(is_statement)


class WireProxy:
    """``proxy = WireProxy("postgres", 5432).start()``; connect to ``proxy.port``; ``stop()``."""

    def __init__(self, protocol: Protocol, upstream_port: int) -> None:
        self.protocol: Protocol = protocol
        self.upstream_port = upstream_port
        self.port = 0
        self.delay = 0.0
        self.statements = 0
        self.round_trips = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.pumps: set[asyncio.Task[None]] = set()

    def start(self) -> WireProxy:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self.listen(), self.loop)
        self.port = future.result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.close_server(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def reset_counts(self) -> None:
        self.statements = 0
        self.round_trips = 0

    async def listen(self) -> int:
        self.server = await asyncio.start_server(self.accept, LOOPBACK, 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def close_server(self) -> None:
        if self.server is not None:
            self.server.close()
        # Idle pooled connections' pumps are still waiting: end them before the loop stops.
        # (their connection then closes on its own, in accept).
        pumps = list(self.pumps)
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        await asyncio.sleep(0)  # let each accept() see its pumps done and close

    async def accept(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server = await asyncio.open_connection(LOOPBACK, self.upstream_port)
        except OSError:
            client.close()
            return
        # True while the client has sent something the server has not answered yet.
        turn = {"client_spoke": False}
        pumps = [
            asyncio.create_task(self.client_to_server(client_reader, server, turn)),
            asyncio.create_task(self.server_to_client(server_reader, client, turn)),
        ]
        for task in pumps:
            self.pumps.add(task)
            task.add_done_callback(self.pumps.discard)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
        client.close()
        server.close()

    async def client_to_server(
        self, reader: asyncio.StreamReader, server: asyncio.StreamWriter, turn: dict[str, bool]
    ) -> None:
        counter = StatementCounter(self.protocol)
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(CHUNK):
                self.statements += counter.feed(data)
                turn["client_spoke"] = True
                server.write(data)
                await server.drain()

    async def server_to_client(
        self, reader: asyncio.StreamReader, client: asyncio.StreamWriter, turn: dict[str, bool]
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(CHUNK):
                if turn["client_spoke"]:
                    turn["client_spoke"] = False
                    self.round_trips += 1
                    if self.delay:
                        await asyncio.sleep(self.delay)
                client.write(data)
                await client.drain()
