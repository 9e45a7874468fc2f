"""The bidirectional ``subscribe`` method: catch-up from the database, then live delivery.

A subscription keeps its own cursor. It reads the events table after it, a page at a time
(the next page is fetched while the current one is sent), until a page comes back short;
then it takes new events from its feed, which the process's one shared reader fills
(``hub/fanout.py``). Its feed is attached before its first database read, and it drops
whatever its cursor has passed, so the switch from history to live has no gap and no
duplicate. A slow client only makes its own loop wait on its send queue; when its feed
overflows meanwhile, it goes back to reading the database from its cursor, never holding
more than a feed's worth of events in memory.
"""

import asyncio
import contextlib
from typing import Any, Literal, NamedTuple

import asyncpg
import orjson
from pydantic import Field, StrictInt, model_validator

from app.domain.access import READ
from app.domain.events import RecordedEvent
from app.domain.names import CHRONICLE_NAME_PATTERN, STREAM_NAME_PATTERN
from app.domain.patterns import matches_any, parse_patterns
from app.errors import StreamNotFoundError
from app.hub.calls import END_OF_INPUT, CallContext, method
from app.hub.encoding import EVENT_DATA, event_data_from_json, event_text
from app.hub.fanout import LiveEvent
from app.hub.methods.catalog import Params
from app.hub.metrics import WS_DELIVERED, WS_SUBSCRIPTIONS
from app.schemas.cloudevents import FORMAT_DESCRIPTION, EventFormatName
from app.schemas.events import Nanoseconds
from app.storage import catalog, event_json, reader
from app.storage.reader import Direction
from app.storage.stream_names import StreamNames, named


class TimeStart(Params):
    """From the first event recorded at or after ``time`` (nanoseconds since the epoch)."""

    time: Nanoseconds


class SubscribeParams(Params):
    """Scope: a stream (chronicle + stream), a chronicle, or everything (neither).
    ``start``: "end" (only new events), "start", a version (stream) / position, or
    {"time": ns}: from the first event recorded at or after it."""

    chronicle: str | None = Field(default=None, pattern=CHRONICLE_NAME_PATTERN)
    stream: str | None = Field(default=None, pattern=STREAM_NAME_PATTERN)
    start: Literal["start", "end"] | StrictInt | TimeStart = Field(default="end")
    types: list[str] | None = Field(
        default=None, description="Type patterns ('?' one segment, '*' the rest); any matches"
    )
    format: EventFormatName = Field(default="json", description=FORMAT_DESCRIPTION)

    @model_validator(mode="after")
    def _valid(self) -> "SubscribeParams":
        if self.stream is not None and self.chronicle is None:
            raise ValueError("a stream is named with its chronicle")
        if isinstance(self.start, int) and self.start < 0:
            raise ValueError("start is 'start', 'end' or a version/position >= 0")
        return self

    @property
    def scope(self) -> str:
        if self.stream is not None:
            return "stream"
        return "chronicle" if self.chronicle is not None else "all"


class Outgoing(NamedTuple):
    """One event's JSON text in the subscription's format and its cursor key (version or
    position)."""

    key: int
    event: str


class Follower:
    """Reads the scope after ``cursor``: a version for a stream, a position otherwise."""

    def __init__(self, ctx: CallContext, params: SubscribeParams) -> None:
        self.ctx = ctx
        self.params = params
        # Raises InvalidPatternError for a malformed pattern, before anything is sent.
        self.patterns = None if params.types is None else parse_patterns(params.types)
        self.cursor = 0
        self.delivered = 0
        # The chronicles (ids) the global log is filtered to, for every read and the live
        # feed alike (None: all of them). Fixed when the subscription starts: chronicles
        # granted later are not added.
        self.visible: frozenset[int] | None = None
        # Names of the streams it has read, for pages of other formats than Chronicle's.
        self.names: StreamNames[tuple[str, str]] = StreamNames(named)

    async def resolve_start(self) -> None:
        """Fix the cursor (and fail early on an unknown chronicle)."""
        p, pool = self.params, self.ctx.pool
        if p.chronicle is not None:
            await catalog.chronicle_id(pool, p.chronicle)
        else:
            self.visible = (
                await self.ctx.authenticator.refreshed(self.ctx.caller)
            ).chronicle_filter
        if isinstance(p.start, TimeStart):
            self.cursor = await self._first_at_or_after(p.start.time)
        elif isinstance(p.start, int):
            self.cursor = p.start
        elif p.start == "start":
            self.cursor = 0
        elif p.scope == "stream":
            assert p.chronicle is not None and p.stream is not None
            try:
                stream = await catalog.get_stream(pool, p.chronicle, p.stream)
                self.cursor = stream.version + 1
            except StreamNotFoundError:
                self.cursor = 0  # it will be created by its first publish
        else:
            self.cursor = await reader.last_position(pool) + 1

    async def _first_at_or_after(self, time: int) -> int:
        """The cursor of the first event with ``recorded_at >= time`` (or the end)."""
        p, pool = self.params, self.ctx.pool
        if p.scope == "stream":
            assert p.chronicle is not None and p.stream is not None
            try:
                found = await reader.replay(pool, p.chronicle, p.stream, time, 2**63 - 1, 1)
                stream = await catalog.get_stream(pool, p.chronicle, p.stream)
            except StreamNotFoundError:
                return 0
            return found.events[0].version if found.events else stream.version + 1
        # Positions and recorded_at are both drawn under the global append lock, so
        # recorded_at grows with position: binary-search positions, one index seek each.
        low, high = 0, await reader.last_position(pool) + 1
        while low < high:
            middle = (low + high) // 2
            first = (await reader.read_all(pool, middle, 1, p.chronicle)).events
            if not first or first[0].recorded_at >= time:
                high = middle
            else:
                low = min(first[0].position + 1, high)
        return low

    async def page(
        self, start: int, cid: int | None, log: event_json.LogJsonReader, size: int
    ) -> tuple[list[Outgoing], int, bool]:
        """The events to deliver from cursor ``start`` (``size`` read at most), the cursor
        after them, and whether the page was full. ``cid``: the chronicle's id, for the
        chronicle scope; ``log`` reads it (or the global log) and keeps what it learnt
        between pages.

        The global log and chronicles are filtered by type in SQL; the cursor may then
        jump past non-matching events up to what the read could see. A single stream is
        filtered here, over the page its version index yields. Chronicle's own format is
        read as JSON text built by PostgreSQL (storage/event_json.py).
        """
        p, pool = self.params, self.ctx.pool
        self.ctx.fanout.database_reads += 1
        if p.format != "json":
            return await self._page_of_events(pool, start, cid, size)
        if p.scope != "stream":
            found, cursor, full = await log.page(pool, start, size)
            out = [Outgoing(e.position, e.json) for e in found]
            return out, cursor, full
        assert p.chronicle is not None and p.stream is not None
        try:
            found = await event_json.read_stream_json(pool, p.chronicle, p.stream, start, size)
        except StreamNotFoundError:
            return [], start, False
        cursor = found[-1].version + 1 if found else start
        out = [Outgoing(e.version, e.json) for e in found if self._wanted(e.type)]
        return out, cursor, len(found) == size

    async def _page_of_events(
        self, pool: asyncpg.Pool, start: int, cid: int | None, size: int
    ) -> tuple[list[Outgoing], int, bool]:
        """``page`` for other formats, from RecordedEvents."""
        p = self.params
        if p.scope != "stream":
            found = await reader.read_log(
                pool, start, size, cid, self.patterns, self.visible, self.names
            )
            out = [Outgoing(e.position, event_text(e, p.format)) for e in found.events]
            return out, found.next or start, len(found.events) == size
        assert p.chronicle is not None and p.stream is not None
        try:
            page = await reader.read_stream(
                pool, p.chronicle, p.stream, start, Direction.FORWARDS, size
            )
        except StreamNotFoundError:
            return [], start, False
        cursor = page.events[-1].version + 1 if page.events else start
        out = [
            Outgoing(e.version, event_text(e, p.format))
            for e in page.events
            if self._wanted(e.type)
        ]
        return out, cursor, len(page.events) == size

    def _wanted(self, event_type: str) -> bool:
        return self.patterns is None or matches_any(self.patterns, event_type)

    def _key(self, event: RecordedEvent) -> int:
        return event.version if self.params.scope == "stream" else event.position

    async def _deliver(self, key: int, data: orjson.Fragment) -> None:
        await self.ctx.emit(data)
        self.delivered += 1
        WS_DELIVERED.inc()
        # Kept exact per event: a stop mid-page reports where to resume.
        self.cursor = key + 1

    async def _deliver_page(self, out: list[Outgoing]) -> None:
        """Deliver a page read from the database: in one write when the connection has
        nothing queued, else event by event through its send queue."""
        if await self.ctx.write_data([o.event for o in out], EVENT_DATA):
            if out:
                self.delivered += len(out)
                WS_DELIVERED.inc(len(out))
                self.cursor = out[-1].key + 1
            return
        for key, event in out:
            await self._deliver(key, event_data_from_json(event))

    def _deliver_now(self, live: LiveEvent) -> bool:
        """``_deliver`` without waiting, called by the shared reader while this subscription
        waits with nothing queued; False when the connection's queue is full."""
        key = self._key(live.event)
        if key < self.cursor:
            return True  # a database read delivered it already
        if not self.ctx.offer(live.data(self.params.format)):
            return False
        self.delivered += 1
        WS_DELIVERED.inc()
        self.cursor = key + 1
        return True

    async def catch_up(self) -> None:
        """Deliver from the database until a page comes back short (the next page is read
        while this one is sent). Pages start at the configured size and double while they
        come back full, up to the configured maximum: a short history costs one small
        read, a long one fewer round trips per event."""
        settings, chronicle = self.ctx.settings, self.params.chronicle
        # Resolved once per catch-up, not per page (a deleted chronicle fails the next one).
        cid = None if chronicle is None else await catalog.chronicle_id(self.ctx.pool, chronicle)
        log = event_json.LogJsonReader(cid, self.patterns, self.visible)
        size = settings.ws_subscription_page_size
        largest = max(size, settings.ws_subscription_max_page_size)
        following = asyncio.ensure_future(self.page(self.cursor, cid, log, size))
        try:
            while True:
                out, cursor, full = await following
                if full:
                    size = min(2 * size, largest)
                    following = asyncio.ensure_future(self.page(cursor, cid, log, size))
                    # Writing a page does not yield while the socket takes it: let the next
                    # read send its query first, so that PostgreSQL works meanwhile.
                    await asyncio.sleep(0)
                await self._deliver_page(out)
                self.cursor = cursor
                if not full:
                    return
        finally:
            following.cancel()
            with contextlib.suppress(BaseException):
                await following

    async def follow(self) -> None:
        ctx, p, fmt = self.ctx, self.params, self.params.format
        limit = ctx.settings.ws_subscription_live_buffer
        feed = await ctx.fanout.attach(p.chronicle, p.stream, self.patterns, limit, self.visible)
        caught_up = False
        try:
            while True:
                feed.restart()
                await self.catch_up()
                if not caught_up:
                    caught_up = True
                    await ctx.emit({"kind": "caught_up", "next": self.cursor})
                while not feed.overflowed:
                    for live in feed.take():
                        # A database read may have delivered it already.
                        if self._key(live.event) >= self.cursor:
                            await self._deliver(self._key(live.event), live.data(fmt))
                    if not feed.overflowed:
                        await feed.wait(self._deliver_now)
        finally:
            ctx.fanout.detach(feed)


async def _stop_requested(ctx: CallContext) -> None:
    """Returns when the client sends {"stop": true} or ends its side of the call."""
    while True:
        data = await ctx.receive()
        if data is END_OF_INPUT or (isinstance(data, dict) and data.get("stop") is True):
            return


@method("subscribe", SubscribeParams, kind="bidirectional", accepts_sends=True, need=READ)
async def subscribe(ctx: CallContext, params: SubscribeParams) -> dict[str, Any]:
    """Data frames: {"kind": "subscribed", "from"}, then {"kind": "event", "event"} in order,
    {"kind": "caught_up", "next"} once history is delivered. Ends on stop or shutdown with
    the reason and ``next`` (where to resubscribe)."""
    follower = Follower(ctx, params)
    await follower.resolve_start()
    await ctx.emit({"kind": "subscribed", "scope": params.scope, "from": follower.cursor})
    WS_SUBSCRIPTIONS.inc()
    tasks = {
        "follow": asyncio.create_task(follower.follow()),
        "stopped": asyncio.create_task(_stop_requested(ctx)),
        "shutdown": asyncio.create_task(ctx.shutting_down.wait()),
    }
    try:
        done, _ = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
        if tasks["follow"] in done:
            tasks["follow"].result()  # only ever ends by raising
        reason = "stopped" if tasks["stopped"] in done else "shutdown"
    finally:
        WS_SUBSCRIPTIONS.dec()
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
    return {"reason": reason, "next": follower.cursor, "delivered": follower.delivered}
