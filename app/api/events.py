"""Routes for events: publish with an expected version, read, get one, replay, global log."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import (
    DEFAULT_PAGE_SIZE,
    AppenderDep,
    ChronicleName,
    Limit,
    LimitsDep,
    PoolDep,
    StreamName,
)
from app.api.problems import problem_responses
from app.domain.names import CHRONICLE_NAME_PATTERN
from app.domain.patterns import parse_patterns
from app.errors import InvalidRangeError
from app.schemas.events import EventOut, EventPage, PublishIn, PublishOut
from app.schemas.queries import TypePatterns
from app.storage import reader
from app.storage.reader import Direction, EventSlice

router = APIRouter(tags=["events"])

_STREAM = "/chronicles/{chronicle}/streams/{stream}"
Version = Annotated[int, Query(ge=0, le=2**63 - 1)]
Nanos = Annotated[int, Query(ge=0, le=2**63 - 1, description="Nanoseconds since the Unix epoch")]


def _page(events: EventSlice) -> EventPage:
    return EventPage(events=[EventOut.of(e) for e in events.events], next=events.next)


@router.post(
    f"{_STREAM}/events",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": PublishOut, "description": "An idempotent repeat: nothing was written"},
        **problem_responses(400, 404, 409, 413, 422),
    },
    summary="Publish events to a stream",
)
async def publish_events(
    chronicle: ChronicleName,
    stream: StreamName,
    body: PublishIn,
    appender: AppenderDep,
    limits: LimitsDep,
    response: Response,
) -> PublishOut:
    """Append one or more events atomically at consecutive versions.

    The stream is created by its first publish. `expected_version` makes the write
    conditional (409 `wrong_expected_version` with expected and actual on mismatch).
    Re-sending events whose `event_id`s were written before returns the original
    versions and positions (200, `duplicate: true`) and writes nothing.
    """
    events = body.new_events()
    limits.check(events)
    result = await appender.append(
        chronicle,
        stream,
        events,
        body.expected(),
        check_duplicates=not body.ids_all_generated(),
    )
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/chronicles/{chronicle}/streams/{stream}/events/" + str(
        result.events[0].version
    )
    return PublishOut.of(chronicle, stream, result)


@router.get(f"{_STREAM}/events", responses=problem_responses(404, 422), summary="Read a stream")
async def read_stream(
    chronicle: ChronicleName,
    stream: StreamName,
    pool: PoolDep,
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
) -> EventPage:
    """Events of a stream in version order, forwards or backwards; `next` continues."""
    return _page(await reader.read_stream(pool, chronicle, stream, from_version, direction, limit))


@router.get(
    f"{_STREAM}/events/{{version}}",
    responses=problem_responses(404, 422),
    summary="Get one event",
)
async def get_event(
    chronicle: ChronicleName,
    stream: StreamName,
    version: Annotated[int, Path(ge=0, le=2**63 - 1)],
    pool: PoolDep,
) -> EventOut:
    """The event with this number in the stream."""
    return EventOut.of(await reader.get_event(pool, chronicle, stream, version))


@router.get(
    f"{_STREAM}/replay",
    responses=problem_responses(404, 422),
    summary="Replay a stream over a time range",
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
) -> EventPage:
    """Events with `start <= recorded_at <= end` (inclusive, nanoseconds), in order."""
    if end < start:
        raise InvalidRangeError(
            f"end ({end}) is before start ({start}): the range is inclusive, start <= end",
            start=start,
            end=end,
        )
    return _page(await reader.replay(pool, chronicle, stream, start, end, limit, from_version))


@router.get("/events", responses=problem_responses(404, 422), summary="Read the global log")
async def read_all(
    pool: PoolDep,
    types: TypePatterns,
    from_position: Annotated[
        int, Query(alias="from", ge=0, le=2**63 - 1, description="First position to return")
    ] = 0,
    chronicle: Annotated[
        str | None, Query(pattern=CHRONICLE_NAME_PATTERN, description="Only this chronicle")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> EventPage:
    """Every event in position order, which is commit order: a reader following `next`
    never misses an event that commits later. `types` keeps only matching events."""
    patterns = parse_patterns(types) if types else None
    return _page(await reader.read_all(pool, from_position, limit, chronicle, patterns))
