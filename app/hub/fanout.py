"""Shared live reads: one reader of the global log per process feeds every live subscription.

Without it each commit's NOTIFY made every live subscription query the events table on its
own (1,000 subscribers: 1,000 queries per commit) and serialize each event again. Here one
task per process reads what committed after its cursor (``reader.read_all``: position
order is commit order, so it never skips a late committer) and offers each event, once
serialized per format, to the feeds whose scope and patterns match. A feed is a bounded
queue that is never awaited: when a subscriber falls behind and its feed fills, the feed
is marked overflowed and emptied, and the subscriber catches up from the database with its
own cursor (``methods/subscribe.py``), as it does at the start.

Why the hand-over from a database read to the feed has no gap: whatever the reader
dispatched before a feed was (re)started was read, hence committed, before that moment, so
the subscriber's next database read sees it; whatever is dispatched after it lands in the
feed. The overlap is dropped by the subscriber's cursor.
"""

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
import orjson
import structlog

from app.domain.events import RecordedEvent
from app.domain.patterns import Pattern, matches_any
from app.hub.encoding import event_data
from app.schemas.cloudevents import EventFormatName
from app.storage import reader
from app.storage.notifications import Listener
from app.storage.stream_names import StreamNames, named

log = structlog.get_logger(__name__)

RETRY_DELAY = 0.5
APPLICATION_NAME = "chronicle-fanout"


class LiveEvent:
    """A committed event as the reader found it, with its frame data serialized once per
    format and shared by every subscriber that receives it."""

    __slots__ = ("event", "chronicle_id", "_data")

    def __init__(self, event: RecordedEvent, chronicle_id: int) -> None:
        self.event = event
        self.chronicle_id = chronicle_id
        self._data: dict[str, orjson.Fragment] = {}

    def data(self, format: EventFormatName) -> orjson.Fragment:
        found = self._data.get(format)
        if found is None:
            found = self._data[format] = event_data(self.event, format)
        return found


class Feed:
    """One subscription's share of the live log: at most ``limit`` events, never awaited
    by the reader. ``overflowed`` means events were dropped: read the database."""

    def __init__(
        self,
        chronicle: str | None,
        stream: str | None,
        patterns: list[Pattern] | None,
        limit: int,
        chronicle_ids: frozenset[int] | None = None,
    ) -> None:
        self.chronicle = chronicle
        self.stream = stream
        self.patterns = patterns
        self.limit = limit
        # Only events of these chronicles (None: any), as the database reads filter them.
        self.chronicle_ids = chronicle_ids
        self.overflowed = False
        self.direct: Callable[[LiveEvent], bool] | None = None
        """Set by an idle subscriber: delivers an event straight to its connection's queue
        (False when that is full), sparing a wake-up of the subscriber's task."""
        self._pending: deque[LiveEvent] = deque()
        self._ready = asyncio.Event()

    def offer(self, live: LiveEvent) -> None:
        if self.overflowed:
            return
        if self.chronicle_ids is not None and live.chronicle_id not in self.chronicle_ids:
            return
        if self.patterns is not None and not matches_any(self.patterns, live.event.type):
            return
        # Only while nothing is queued: events must not overtake queued ones.
        if self.direct is not None:
            try:
                if not self._pending and self.direct(live):
                    return
            except Exception:
                # Never let one subscriber break the reader: this one's task, woken, will
                # meet the error itself.
                log.exception("fanout_direct_delivery_failed")
            self.direct = None
        if len(self._pending) >= self.limit:
            self.overflowed = True
            self._pending.clear()
        else:
            self._pending.append(live)
        self._ready.set()

    def resync(self) -> None:
        """Make the subscriber read the database before it takes live events again, as
        after an overflow: its scope may have been deleted, which that read reports."""
        self.overflowed = True
        self._pending.clear()
        self._ready.set()

    def restart(self) -> None:
        """Forget what is queued before reading the database: everything dispatched so far
        committed before this call, so that read will see it."""
        self._pending.clear()
        self.overflowed = False
        self._ready.clear()

    def take(self) -> list[LiveEvent]:
        """Everything queued, in commit order (empty after an overflow)."""
        events = list(self._pending)
        self._pending.clear()
        self._ready.clear()
        return events

    async def wait(self, direct: Callable[[LiveEvent], bool] | None = None) -> None:
        """Until something is queued or the feed overflowed; meanwhile events go to
        ``direct`` while it takes them."""
        self.direct = direct
        try:
            await self._ready.wait()
        finally:
            self.direct = None


class Fanout:
    """Created by the hub; subscriptions ``attach`` a feed for their scope and ``detach`` it.

    The reader runs only while feeds are attached: with none it stops following the log,
    and the first attach starts it again from the log's end.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        listener: Listener,
        page_size: int,
        poll_interval: float,
    ) -> None:
        self._pool = pool
        # Reads on its own connection: a pool query costs a second round trip (the reset
        # on release), and this one runs after every commit while anyone subscribes.
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._names: StreamNames[tuple[str, str]] = StreamNames(named)
        self._listener = listener
        self._page_size = page_size
        self._poll_interval = poll_interval
        self._everything: set[Feed] = set()
        self._by_chronicle: dict[str, set[Feed]] = {}
        self._by_stream: dict[tuple[str, str], set[Feed]] = {}
        # Only feeds scoped to a chronicle or stream can lose their scope.
        listener.on_deletion(self._scopes_deleted)
        self._feeds = 0
        # None while no feed is attached. The generation changes whenever the cursor is
        # reset, so a read begun before a reset is not dispatched after it.
        self._cursor: int | None = None
        self._generation = 0
        self._starting = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.reads = 0
        self.dispatched = 0
        # Pages subscriptions read from the database themselves (catch-up, overflow).
        self.database_reads = 0

    async def attach(
        self,
        chronicle: str | None,
        stream: str | None,
        patterns: list[Pattern] | None,
        limit: int,
        chronicle_ids: frozenset[int] | None = None,
    ) -> Feed:
        """A feed for a scope (a stream, a chronicle, or everything with both None), of
        the chronicles ``chronicle_ids`` only when given."""
        async with self._starting:
            if self._cursor is None:
                # Taken before the feed exists: anything below it committed before the
                # subscriber's first database read, which therefore sees it.
                start = await reader.last_position(self._pool) + 1
                self._generation += 1
                self._cursor = start
            if self._task is None:
                self._task = asyncio.create_task(self._run(), name="chronicle-fanout")
            feed = Feed(chronicle, stream, patterns, limit, chronicle_ids)
            self._index(feed).add(feed)
            self._feeds += 1
        return feed

    def _scopes_deleted(self) -> None:
        for feeds in (*self._by_chronicle.values(), *self._by_stream.values()):
            for feed in feeds:
                feed.resync()

    def detach(self, feed: Feed) -> None:
        feeds = self._index(feed)
        if feed not in feeds:
            return
        feeds.discard(feed)
        self._feeds -= 1
        if not feeds and feed.chronicle is not None:
            self._drop_empty(feed)
        if self._feeds == 0:
            self._cursor = None
            self._generation += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
            self._conn = None

    def stats(self) -> dict[str, Any]:
        return {
            "live_feeds": self._feeds,
            "live_reads": self.reads,
            "subscription_reads": self.database_reads,
        }

    def _index(self, feed: Feed) -> set[Feed]:
        if feed.chronicle is None:
            return self._everything
        if feed.stream is None:
            return self._by_chronicle.setdefault(feed.chronicle, set())
        return self._by_stream.setdefault((feed.chronicle, feed.stream), set())

    def _drop_empty(self, feed: Feed) -> None:
        assert feed.chronicle is not None
        if feed.stream is None:
            self._by_chronicle.pop(feed.chronicle, None)
        else:
            self._by_stream.pop((feed.chronicle, feed.stream), None)

    async def _run(self) -> None:
        with self._listener.waker() as woken:
            while True:
                # Cleared before reading: a commit after this point sets it again.
                woken.clear()
                try:
                    await self._read_new()
                except Exception as error:  # noqa: BLE001  (this task must outlive any error)
                    # Reconnects and reads on from its cursor, without waiting for a commit.
                    log.warning("fanout_read_failed", error=repr(error))
                    if self._conn is not None:
                        self._conn.terminate()
                        self._conn = None
                    await asyncio.sleep(RETRY_DELAY)
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_interval):
                        await woken.wait()

    async def _read_new(self) -> None:
        while self._cursor is not None:
            generation, cursor = self._generation, self._cursor
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": APPLICATION_NAME}
                )
            rows, next_position = await reader.log_rows(
                self._conn,
                cursor,
                self._page_size,
                None,
                None,
                reader.UNJOINED_EVENT_COLUMNS,
            )
            names = await self._names.of(self._conn, {r["stream_id"] for r in rows})
            self.reads += 1
            if generation != self._generation:
                continue  # the cursor was reset meanwhile: read again from the new one
            self._dispatch(rows, names)
            self._cursor = next_position
            if len(rows) < self._page_size:
                return

    def _dispatch(self, rows: list[asyncpg.Record], names: Mapping[int, tuple[str, str]]) -> None:
        everything, by_chronicle, by_stream = self._everything, self._by_chronicle, self._by_stream
        for row in rows:
            pair = names.get(row["stream_id"])
            if pair is None:
                continue  # gone with its chronicle (StreamNames.of)
            chronicle, stream = pair
            live: LiveEvent | None = None
            for feeds in (
                everything,
                by_chronicle.get(chronicle, ()),
                by_stream.get((chronicle, stream), ()),
            ):
                for feed in feeds:
                    if live is None:  # built only for an event someone follows
                        live = LiveEvent(
                            reader.recorded_event(row, chronicle, stream), row["chronicle_id"]
                        )
                    feed.offer(live)
        self.dispatched += len(rows)
