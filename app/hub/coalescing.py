"""uvicorn's WebSocket protocol with writes coalesced: frames sent in one loop iteration leave
in one write.

A session's send loop drains every queued frame without yielding (a send only waits when
the socket is backed up), and uvicorn writes each frame to the transport on its own: on
loopback and on busy servers that is one system call and one TCP segment per event, the
main cost of a catch-up subscription. Here the writes of one iteration are joined and
written once, at the end of the iteration (or at once past ``FLUSH_BYTES``); order is
kept, so a close frame still follows the data before it. Backpressure is unchanged: the
real transport still pauses the protocol when its buffer is full.
"""

import asyncio
from typing import Any, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request
from websockets.protocol import State

FLUSH_BYTES = 64 * 1024

SEND_TEXT_NOW = "chronicle.send_text_now"
"""ASGI scope extension: a function writing one text frame at once, without a coroutine
(no task switch), returning False when the connection is closed or backed up; then send
through ASGI, which waits. The session uses it for frames nothing is queued before."""

SEND_TEXTS_NOW = "chronicle.send_texts_now"
"""ASGI scope extension: ``SEND_TEXT_NOW`` for many frames, written together (all or none)."""

WAIT_WRITABLE = "chronicle.wait_writable"
"""ASGI scope extension: a coroutine function returning once the connection takes writes
again (at once if it does); False when the connection is closed."""


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented text frame, as a server sends it (RFC 6455, 5.2)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload


class CoalescingTransport:
    """Stands in for the connection's transport; everything but writes is delegated."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0
        self._scheduled = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    """Pass as uvicorn's ``ws`` protocol class. Offers the ``SEND_TEXT_NOW`` extension."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # the handshake went on to the application
            scope["extensions"][SEND_TEXT_NOW] = self.send_text_now
            scope["extensions"][SEND_TEXTS_NOW] = self.send_texts_now
            scope["extensions"][WAIT_WRITABLE] = self.wait_writable

    def _open(self) -> bool:
        return (
            self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and self.initial_response is None
        )

    def send_text_now(self, text: str) -> bool:
        """Write a text frame without waiting, if the connection is open and its buffer is
        not full; False (nothing written) otherwise."""
        if not self._open() or not self.writable.is_set():
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def send_texts_now(self, texts: list[str]) -> bool:
        """``send_text_now`` for all of ``texts``, in order, in one write. The buffer may
        go past its high-water mark by this one batch (the caller bounds its size)."""
        if not self._open() or not self.writable.is_set() or self.conn.state is not State.OPEN:
            return False
        if self.conn.extensions:  # e.g. permessage-deflate: websockets frames them
            for text in texts:
                self.conn.send_text(text.encode())
            self.transport.write(b"".join(self.conn.data_to_send()))
            return True
        # Framed here: websockets' per-frame objects cost more than the rest of a
        # catch-up's work per event (bench/RESULTS.md, figure 5). Whatever websockets has
        # not written yet (a pong) goes first.
        frames = self.conn.data_to_send()
        frames.extend(text_frame(text.encode()) for text in texts)
        self.transport.write(b"".join(frames))
        return True

    async def wait_writable(self) -> bool:
        await self.writable.wait()  # set again when the connection is lost
        return self._open()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        real = cast(asyncio.Transport, transport)
        super().connection_made(CoalescingTransport(real, self.loop))  # type: ignore[arg-type]
