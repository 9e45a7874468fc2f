"""A lean WebSocket client for the read benchmarks: counts frames, answers pings, and parses
only what it is asked to, so the server, not the client, is what is measured.

The same client reads from Chronicle and from the bare ``websockets`` ceiling servers. It
offers no compression, so neither server deflates (both would pay the same per frame).
"""

import asyncio
import base64
import gc
import os
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import orjson

OnText = Callable[[bytes, int], None]
"""Called with a text frame's payload and its arrival time (time.time_ns())."""


class FrameCounter(asyncio.Protocol):
    """One connection. ``events`` counts text frames whose payload starts with ``marker``."""

    def __init__(self, marker: bytes, on_text: OnText | None = None) -> None:
        self.marker = marker
        self.on_text = on_text
        self.events = 0
        self.frames = 0
        self.caught_up = 0
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.changed = asyncio.Event()
        self._buffer = b""
        self._handshake = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        self.changed.set()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        if self._handshake:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self._buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(buffer[:200].decode("latin-1")))
                return
            self._handshake = False
            self.opened.set_result(None)
            buffer = buffer[end + 4 :]
        at, size, events = 0, len(buffer), self.events
        while size - at >= 2:
            opcode, length = buffer[at] & 0x0F, buffer[at + 1] & 0x7F
            header = 2
            if length == 126:
                if size - at < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, at + 2)
                header = 4
            elif length == 127:
                if size - at < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, at + 2)
                header = 10
            if size - at < header + length:
                break
            start = at + header
            at = start + length
            self.frames += 1
            if opcode == 0x1:
                if self.marker in buffer[start : start + 80]:
                    events += 1
                    if self.on_text is not None:
                        self.on_text(buffer[start:at], time.time_ns())
                elif buffer.startswith(b'{"type":"ping"', start):
                    self.send_text(b'{"type":"pong"}')
                elif b'"kind":"caught_up"' in buffer[start : start + 80]:
                    self.caught_up += 1
                    self.changed.set()
            elif opcode == 0x9:  # protocol ping
                self._send_frame(0xA, buffer[start:at])
            elif opcode == 0x8 and self.transport is not None:
                self.transport.close()
        self._buffer = buffer[at:] if at < size else b""
        if events != self.events:
            self.events = events
            self.changed.set()

    def send_text(self, payload: bytes) -> None:
        self._send_frame(0x1, payload)

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        # Client frames must be masked; an all-zero mask leaves the payload as it is.
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        assert self.transport is not None
        self.transport.write(header + b"\0\0\0\0" + payload)

    def call(self, call_id: str, method: str, params: dict[str, object]) -> None:
        frame = {"type": "call", "id": call_id, "method": method, "params": params}
        self.send_text(orjson.dumps(frame))

    async def wait_events(self, count: int, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while self.events < count:
                if self.closed.done():
                    raise ConnectionError(f"closed after {self.events} of {count} events")
                self.changed.clear()
                await self.changed.wait()

    async def wait_caught_up(self, count: int, timeout: float) -> None:
        """Until ``count`` subscriptions on this connection said caught_up."""
        async with asyncio.timeout(timeout):
            while self.caught_up < count:
                if self.closed.done():
                    raise ConnectionError("closed before its subscriptions caught up")
                self.changed.clear()
                await self.changed.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_client(
    url: str, marker: bytes, on_text: OnText | None = None, timeout: float = 30.0
) -> FrameCounter:
    """A connected client of ``ws://host:port/path``, handshake done."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: FrameCounter(marker, on_text), parts.hostname, parts.port
    )
    key = base64.b64encode(os.urandom(16)).decode()
    assert client.transport is not None
    client.transport.write(
        (
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    async with asyncio.timeout(timeout):
        await client.opened
    return client


async def open_clients(
    url: str, count: int, marker: bytes, on_text: OnText | None = None, at_once: int = 200
) -> list[FrameCounter]:
    """``count`` clients, ``at_once`` handshakes in flight (within the listen backlog)."""
    clients: list[FrameCounter] = []
    for start in range(0, count, at_once):
        batch = min(at_once, count - start)
        clients += await asyncio.gather(*(open_client(url, marker, on_text) for _ in range(batch)))
    return clients


@contextmanager
def quiet_gc() -> Iterator[None]:
    """No garbage collection in this (measuring) process while measuring: a full
    collection over a thousand clients pauses it for 100 ms or more, which would be
    counted against whichever server is measured."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def raise_open_files_limit() -> int:
    """Raise this process's open-files limit to its hard limit (children inherit it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard
