"""One LISTEN connection per process that wakes local followers when events commit anywhere."""

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import asyncpg
import structlog

from app.storage.appender import NOTIFY_CHANNEL
from app.storage.deletion import DELETION_CHANNEL

log = structlog.get_logger(__name__)

GROUP_CHANNEL = "chronicle_groups"
"""Persistent subscription groups: the payload is the id of a group whose state changed."""


class Listener:
    """Listens on ``NOTIFY_CHANNEL`` over a dedicated connection (not from the pool).

    A notification is only a hint that something committed: followers re-read the events
    table after the last position they saw. So nothing is lost when a notification is: on
    every (re)connect all followers are woken to catch up, and followers also poll slowly.
    """

    def __init__(self, dsn: str, reconnect_delay: float = 0.5) -> None:
        self._dsn = dsn
        self._reconnect_delay = reconnect_delay
        self._wakers: set[asyncio.Event] = set()
        self._group_wakers: dict[str, set[asyncio.Event]] = {}
        self._deletion_callbacks: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.notifications = 0
        self.connects = 0

    async def start(self) -> None:
        """Start listening; returns once the first connection is up (or failed once)."""
        self._task = asyncio.create_task(self._run(), name="chronicle-listener")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self.connected.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.wake_all()

    @contextlib.contextmanager
    def waker(self) -> Iterator[asyncio.Event]:
        """An event set after every commit seen; the holder clears it before re-reading."""
        event = asyncio.Event()
        self._wakers.add(event)
        try:
            yield event
        finally:
            self._wakers.discard(event)

    @contextlib.contextmanager
    def group_waker(self, group_id: int) -> Iterator[asyncio.Event]:
        """An event set after every commit seen, and after every change to the group."""
        event = asyncio.Event()
        key = str(group_id)
        self._wakers.add(event)
        self._group_wakers.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            self._wakers.discard(event)
            wakers = self._group_wakers.get(key, set())
            wakers.discard(event)
            if not wakers:
                self._group_wakers.pop(key, None)

    def on_deletion(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (which must not block) when a stream or chronicle is deleted
        anywhere, and after every reconnect (a deletion may have gone unheard)."""
        self._deletion_callbacks.append(callback)

    def _deleted(self, *_: object) -> None:
        for callback in self._deletion_callbacks:
            callback()

    def wake_all(self) -> None:
        # Never awaits a follower: setting an Event is all the fan-out does.
        for event in self._wakers:
            event.set()

    def _on_group_notify(self, _conn: object, _pid: object, _channel: object, payload: str) -> None:
        for event in self._group_wakers.get(payload, ()):
            event.set()

    def _on_notify(self, *_: object) -> None:
        self.notifications += 1
        self.wake_all()

    async def _run(self) -> None:
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn)
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
                await conn.add_listener(GROUP_CHANNEL, self._on_group_notify)
                await conn.add_listener(DELETION_CHANNEL, self._deleted)
                self.connected.set()
                self.connects += 1
                log.info("listener_connected", channel=NOTIFY_CHANNEL)
                # Commits (and deletions) may have happened while we were not listening.
                self.wake_all()
                self._deleted()
                await lost.wait()
                log.warning("listener_connection_lost")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("listener_connect_failed", error=str(error))
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(self._reconnect_delay)
