"""Hub methods for events: publish and get (unary), read and replay (server-streaming),
append (client-streaming)."""

from typing import Any

from pydantic import BaseModel, Field, model_validator

from app.domain.access import READ, WRITE
from app.domain.events import NewEvent
from app.domain.expected_version import ExpectedVersion, parse_expected_version
from app.domain.names import CHRONICLE_NAME_PATTERN, STREAM_NAME_PATTERN
from app.errors import InvalidInputError, InvalidRangeError
from app.hub.calls import END_OF_INPUT, CallContext, method
from app.hub.methods.catalog import ChronicleName, Params, StreamName, StreamRef
from app.schemas.cloudevents import FORMAT_DESCRIPTION, EventFormatName, event_body
from app.schemas.events import (
    EventIn,
    EventOut,
    ExpectedVersionIn,
    Nanoseconds,
    PublishIn,
    publish_out,
)
from app.storage import reader
from app.storage.reader import Direction

MAX_VERSION = 2**63 - 1


class PublishParams(PublishIn):
    chronicle: str = ChronicleName
    stream: str = StreamName


class GetEventParams(StreamRef):
    version: int = Field(ge=0, le=MAX_VERSION)
    format: EventFormatName = Field(default="json", description=FORMAT_DESCRIPTION)


class ReadParams(Params):
    """A stream (chronicle + stream) by version, or the global log (optionally one chronicle)
    by position."""

    chronicle: str | None = Field(default=None, pattern=CHRONICLE_NAME_PATTERN)
    stream: str | None = Field(default=None, pattern=STREAM_NAME_PATTERN)
    from_: int | None = Field(default=None, alias="from", ge=0, le=MAX_VERSION)
    direction: Direction = Direction.FORWARDS
    count: int | None = Field(default=None, ge=1, description="Stop after this many events")
    format: EventFormatName = Field(default="json", description=FORMAT_DESCRIPTION)

    @model_validator(mode="after")
    def _scope(self) -> "ReadParams":
        if self.stream is not None and self.chronicle is None:
            raise ValueError("a stream is named with its chronicle")
        if self.stream is None and self.direction is Direction.BACKWARDS:
            raise ValueError("the global log reads forwards only")
        return self


class ReplayParams(StreamRef):
    start: Nanoseconds
    end: Nanoseconds
    format: EventFormatName = Field(default="json", description=FORMAT_DESCRIPTION)


class AppendParams(StreamRef):
    expected_version: ExpectedVersionIn = "any"


async def _publish(
    ctx: CallContext,
    chronicle: str,
    stream: str,
    events: list[NewEvent],
    expected: ExpectedVersion,
    generated: bool,
) -> dict[str, Any]:
    ctx.limits.check(events)
    # Through group commit, like REST publishes: they share batches and the lock order.
    result = await ctx.appender.append(
        chronicle, stream, events, expected, check_duplicates=not generated
    )
    # A PublishOut, as plain data: the frame is encoded once, by orjson.
    return publish_out(chronicle, stream, result)


@method("publish", PublishParams, need=WRITE)
async def publish(ctx: CallContext, params: PublishParams) -> dict[str, Any]:
    return await _publish(
        ctx,
        params.chronicle,
        params.stream,
        params.new_events(),
        params.expected(),
        params.ids_all_generated(),
    )


@method("get_event", GetEventParams, need=READ)
async def get_event(ctx: CallContext, params: GetEventParams) -> EventOut | dict[str, Any]:
    return event_body(
        await reader.get_event(ctx.pool, params.chronicle, params.stream, params.version),
        params.format,
    )


@method("read", ReadParams, kind="server_streaming", need=READ)
async def read(ctx: CallContext, params: ReadParams) -> dict[str, Any]:
    """Emits one data frame per event; the end result says where to continue (``next``)."""
    page_size = ctx.settings.max_page_size
    visible = None
    if params.chronicle is None:
        visible = (await ctx.authenticator.refreshed(ctx.caller)).chronicle_filter
    remaining = params.count
    cursor = params.from_
    sent = 0
    while remaining is None or remaining > 0:
        limit = page_size if remaining is None else min(page_size, remaining)
        if params.stream is not None:
            assert params.chronicle is not None
            page = await reader.read_stream(
                ctx.pool, params.chronicle, params.stream, cursor, params.direction, limit
            )
            done = page.next is None
        else:
            page = await reader.read_all(
                ctx.pool, cursor or 0, limit, params.chronicle, chronicle_ids=visible
            )
            done = len(page.events) < limit
        for event in page.events:
            await ctx.emit(event_body(event, params.format))
        sent += len(page.events)
        if remaining is not None:
            remaining -= len(page.events)
        cursor = page.next
        if done:
            break
    return {"count": sent, "next": cursor}


@method("replay", ReplayParams, kind="server_streaming", need=READ)
async def replay(ctx: CallContext, params: ReplayParams) -> dict[str, Any]:
    """Events with ``start <= recorded_at <= end`` (nanoseconds), one data frame each."""
    if params.end < params.start:
        raise InvalidRangeError(
            f"end ({params.end}) is before start ({params.start}): the range is inclusive",
            start=params.start,
            end=params.end,
        )
    cursor: int | None = None
    sent = 0
    while True:
        page = await reader.replay(
            ctx.pool,
            params.chronicle,
            params.stream,
            params.start,
            params.end,
            ctx.settings.max_page_size,
            cursor,
        )
        for event in page.events:
            await ctx.emit(event_body(event, params.format))
        sent += len(page.events)
        if page.next is None:
            return {"count": sent}
        cursor = page.next


class _AppendBatch(BaseModel):
    events: list[EventIn] = Field(min_length=1)


@method("append", AppendParams, kind="client_streaming", accepts_sends=True, need=WRITE)
async def append(ctx: CallContext, params: AppendParams) -> dict[str, Any]:
    """Each ``send`` carries one event (an EventIn) or {"events": [...]}; at ``end`` they are
    published atomically, as one publish with the call's expected version."""
    expected = parse_expected_version(params.expected_version)
    limits = ctx.limits
    events: list[NewEvent] = []
    generated = True
    while (data := await ctx.receive()) is not END_OF_INPUT:
        # A ValidationError ends the call with validation_error, as a bad REST body does.
        if isinstance(data, dict) and "events" in data:
            received = _AppendBatch.model_validate(data).events
        else:
            received = [EventIn.model_validate(data)]
        # Encoded once, as they arrive, and checked at once, so a runaway sender cannot
        # grow the buffer without bound.
        new = [e.to_new_event() for e in received]
        limits.check(new)
        generated = generated and all(e.event_id is None for e in received)
        events.extend(new)
        if len(events) > limits.max_events_per_publish:
            limits.check(events)
    if not events:
        raise InvalidInputError("append ended without any event: send at least one")
    return await _publish(ctx, params.chronicle, params.stream, events, expected, generated)
