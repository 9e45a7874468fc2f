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

FLUSH_BYTES = 64 * 1024

SEND_TEXT_NOW = "chronicle.send_text_now"
"""ASGI scope extension: a function writing one text frame at once, without a coroutine
(no task switch), returning False when the connection is closed or backed up; then send
through ASGI, which waits. The session uses it for frames nothing is queued before."""


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

    def send_text_now(self, text: str) -> bool:
        """Write a text frame without waiting, if the connection is open and its buffer is
        not full; False (nothing written) otherwise."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
        ):
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        real = cast(asyncio.Transport, transport)
        super().connection_made(CoalescingTransport(real, self.loop))  # type: ignore[arg-type]
