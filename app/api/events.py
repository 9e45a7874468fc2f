"""Routes for events: publish with an expected version, read, get one, replay, global log."""

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Request, Response, status

from app.api.auth import CallerDep, requires
from app.api.cloudevents import (
    PUBLISH_OPENAPI,
    CloudEventsRoute,
    EventFormat,
    FormatDep,
    cloudevent_content,
    cloudevent_response,
    cloudevents_batch_content,
    cloudevents_response,
    page_headers,
)
from app.api.deps import (
    DEFAULT_PAGE_SIZE,
    ChronicleName,
    Limit,
    PoolDep,
    StreamName,
)
from app.api.preconditions import (
    ETAG_HEADER,
    IfMatch,
    IfNoneMatch,
    choose_expected_version,
    etag,
    expected_version_from_headers,
    set_etag,
)
from app.api.problems import problem_responses
from app.config import Settings
from app.domain.access import READ, WRITE
from app.domain.limits import PublishLimits
from app.domain.names import CHRONICLE_NAME_PATTERN
from app.domain.patterns import parse_patterns
from app.errors import InvalidRangeError, PreconditionFailedError, WrongExpectedVersionError
from app.schemas.events import EventOut, EventPage, PublishIn, PublishOut, publish_out
from app.schemas.queries import TypePatterns
from app.storage import catalog, reader
from app.storage.group_commit import GroupCommitter
from app.storage.reader import Direction, EventSlice

router = APIRouter(tags=["events"], route_class=CloudEventsRoute)

_STREAM = "/chronicles/{chronicle}/streams/{stream}"
Version = Annotated[int, Query(ge=0, le=2**63 - 1)]
Nanos = Annotated[int, Query(ge=0, le=2**63 - 1, description="Nanoseconds since the Unix epoch")]


def _page(
    events: EventSlice, format: EventFormat, route_response: Response | None = None
) -> EventPage | Response:
    if format is EventFormat.CLOUDEVENTS:
        return cloudevents_response(events.events, page_headers(events.next), route_response)
    return EventPage(events=[EventOut.of(e) for e in events.events], next=events.next)


@router.post(
    f"{_STREAM}/events",
    status_code=status.HTTP_201_CREATED,
    response_model=PublishOut,
    responses={
        200: {
            "model": PublishOut,
            "description": "An idempotent repeat: nothing was written",
            "headers": ETAG_HEADER,
        },
        201: {"headers": ETAG_HEADER},
        **problem_responses(400, 404, 409, 410, 412, 413, 422),
    },
    summary="Publish events to a stream",
    openapi_extra=PUBLISH_OPENAPI,
    dependencies=[requires(WRITE)],
)
async def publish_events(
    chronicle: ChronicleName,
    stream: StreamName,
    body: PublishIn,
    request: Request,
    # Declared to document them; read from request.headers, which shows a repeated header.
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Append one or more events atomically at consecutive versions.

    The stream is created by its first publish. `expected_version` makes the write
    conditional (409 `wrong_expected_version` with expected and actual on mismatch).
    Re-sending events whose `event_id`s were written before returns the original
    versions and positions (200, `duplicate: true`) and writes nothing.

    The HTTP form of `expected_version`: `If-Match: "N"` (an `ETag` as returned) expects
    version N (`"-1"`: empty), `If-Match: *` that the stream exists, `If-None-Match: *`
    that it does not. A mismatch is 412 with the 409's body. `ETag` is the version after.
    """
    return await publish_response(request, chronicle, stream, body)


async def publish_response(
    request: Request, chronicle: str, stream: str, body: PublishIn
) -> Response:
    """What ``publish_events`` answers once its parameters are valid and the caller may
    write (shared with the fast path, api/fast_publish.py)."""
    # No dependencies: each costs FastAPI a per-request cache-key walk (a fifth of the
    # route's time when this took three); what they gave is one attribute away.
    state = request.app.state
    settings: Settings = state.settings
    appender: GroupCommitter = state.appender
    events = body.new_events()
    PublishLimits(settings.max_event_bytes, settings.max_events_per_publish).check(events)
    precondition = expected_version_from_headers(request.headers)
    expected = choose_expected_version(precondition, body.expected())
    try:
        result = await appender.append(
            chronicle,
            stream,
            events,
            expected,
            check_duplicates=not body.ids_all_generated(),
        )
    except WrongExpectedVersionError as error:
        if precondition is None:
            raise
        raise PreconditionFailedError.of(error) from error
    # Encoded here with orjson: the response model only documents the body.
    return Response(
        orjson.dumps(publish_out(chronicle, stream, result)),
        status_code=status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED,
        media_type="application/json",
        headers={
            "ETag": etag(result.stream_version),
            "Location": f"/chronicles/{chronicle}/streams/{stream}/events/"
            f"{result.events[0].version}",
        },
    )


@router.get(
    f"{_STREAM}/events",
    response_model=EventPage,
    responses={
        **cloudevents_batch_content(headers=ETAG_HEADER),
        **problem_responses(404, 410, 422),
    },
    summary="Read a stream",
    dependencies=[requires(READ)],
)
async def read_stream(
    chronicle: ChronicleName,
    stream: StreamName,
    pool: PoolDep,
    response: Response,
    from_version: Annotated[
        int | None,
        Query(
            alias="from",
            ge=0,
            le=2**63 - 1,
            description="First version to return (default: the first forwards, the last backwards)",
        ),
    ] = None,
    direction: Direction = Direction.FORWARDS,
    limit: Limit = DEFAULT_PAGE_SIZE,
    format: FormatDep = EventFormat.JSON,
) -> EventPage | Response:
    """Events of a stream in version order, forwards or backwards; `next` continues.

    `ETag` is the stream's version (not the page's last event), for `If-Match` on publish.
    """
    # Read before the page: an ETag older than the page only makes If-Match fail safely.
    set_etag(response, (await catalog.get_stream(pool, chronicle, stream)).version)
    page = await reader.read_stream(pool, chronicle, stream, from_version, direction, limit)
    return _page(page, format, response)


@router.get(
    f"{_STREAM}/events/{{version}}",
    response_model=EventOut,
    responses={**cloudevent_content(headers=ETAG_HEADER), **problem_responses(404, 410, 422)},
    summary="Get one event",
    dependencies=[requires(READ)],
)
async def get_event(
    chronicle: ChronicleName,
    stream: StreamName,
    version: Annotated[int, Path(ge=0, le=2**63 - 1)],
    pool: PoolDep,
    response: Response,
    format: FormatDep = EventFormat.JSON,
) -> EventOut | Response:
    """The event with this number in the stream.

    Events never change, so `ETag` is the event's own version: as `If-Match` on publish it
    succeeds only while this event is the stream's last.
    """
    set_etag(response, version)
    event = await reader.get_event(pool, chronicle, stream, version)
    if format is EventFormat.CLOUDEVENTS:
        return cloudevent_response(event, response)
    return EventOut.of(event)


@router.get(
    f"{_STREAM}/replay",
    response_model=EventPage,
    responses={**cloudevents_batch_content(), **problem_responses(404, 410, 422)},
    summary="Replay a stream over a time range",
    dependencies=[requires(READ)],
)
async def replay_stream(
    chronicle: ChronicleName,
    stream: StreamName,
    start: Nanos,
    end: Nanos,
    pool: PoolDep,
    from_version: Annotated[
        int | None, Query(alias="from", ge=0, le=2**63 - 1, description="`next` of a page")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    format: FormatDep = EventFormat.JSON,
) -> EventPage | Response:
    """Events with `start <= recorded_at <= end` (inclusive, nanoseconds), in order."""
    if end < start:
        raise InvalidRangeError(
            f"end ({end}) is before start ({start}): the range is inclusive, start <= end",
            start=start,
            end=end,
        )
    page = await reader.replay(pool, chronicle, stream, start, end, limit, from_version)
    return _page(page, format)


@router.get(
    "/events",
    response_model=EventPage,
    responses={**cloudevents_batch_content(), **problem_responses(404, 422)},
    summary="Read the global log",
    dependencies=[requires(READ, chronicle_in="query", fresh=True)],
)
async def read_all(
    pool: PoolDep,
    caller: CallerDep,
    types: TypePatterns,
    from_position: Annotated[
        int, Query(alias="from", ge=0, le=2**63 - 1, description="First position to return")
    ] = 0,
    chronicle: Annotated[
        str | None, Query(pattern=CHRONICLE_NAME_PATTERN, description="Only this chronicle")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    format: FormatDep = EventFormat.JSON,
) -> EventPage | Response:
    """Every event in position order, which is commit order: a reader following `next`
    never misses an event that commits later. `types` keeps only matching events.
    Without `chronicle`, only events of the chronicles the caller may read."""
    patterns = parse_patterns(types) if types else None
    visible = None if chronicle is not None else caller.chronicle_filter
    page = await reader.read_all(pool, from_position, limit, chronicle, patterns, visible)
    return _page(page, format)
