"""A connection's bounded outgoing queues: call data waits for room, replies never wait."""

import asyncio
from collections import deque
from typing import Any


class OutboxOverflowError(Exception):
    """The client stopped reading: even the small replies (pong, ack, error) piled up."""


class Outbox:
    """Two bounded queues drained by one sender. Call frames (data, end, call errors) go
    through ``put`` and wait when ``data_limit`` frames are queued: only that call waits.
    Replies go through ``put_reply``, which never waits and raises once ``reply_limit`` is
    exceeded, so a reader that is gone is dropped instead of buffered forever."""

    def __init__(self, data_limit: int, reply_limit: int) -> None:
        self.data_limit = data_limit
        self.reply_limit = reply_limit
        self._data: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=data_limit)
        self._replies: deque[dict[str, Any]] = deque()
        self._ready = asyncio.Event()
        self.max_depth = 0

    @property
    def depth(self) -> int:
        return self._data.qsize()

    @property
    def empty(self) -> bool:
        """Nothing waits to be sent."""
        return not self._replies and self._data.empty()

    async def put(self, frame: dict[str, Any]) -> None:
        await self._data.put(frame)
        self.max_depth = max(self.max_depth, self._data.qsize())
        self._ready.set()

    def offer(self, frame: dict[str, Any]) -> bool:
        """``put`` without waiting: False (and nothing queued) when the data queue is full."""
        if self._data.full():
            return False
        self._data.put_nowait(frame)
        self.max_depth = max(self.max_depth, self._data.qsize())
        self._ready.set()
        return True

    def put_reply(self, frame: dict[str, Any]) -> None:
        if len(self._replies) >= self.reply_limit:
            raise OutboxOverflowError(f"more than {self.reply_limit} replies unread")
        self._replies.append(frame)
        self._ready.set()

    async def get(self) -> dict[str, Any]:
        """The next frame to write: replies first, so pongs are not stuck behind data."""
        while True:
            if self._replies:
                return self._replies.popleft()
            if not self._data.empty():
                return self._data.get_nowait()
            self._ready.clear()
            await self._ready.wait()
