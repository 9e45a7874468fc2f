"""Routes for streams (ChronoLog's stories) inside a chronicle."""

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from app.api.deps import DEFAULT_PAGE_SIZE, ChronicleName, Limit, PoolDep, StreamName
from app.api.preconditions import ETAG_HEADER, set_etag
from app.api.problems import problem_responses
from app.domain.names import STREAM_NAME_PATTERN
from app.schemas.catalog import StreamIn, StreamOut, StreamPage
from app.storage import catalog

router = APIRouter(prefix="/chronicles/{chronicle}/streams", tags=["streams"])


@router.get("", responses=problem_responses(404, 422), summary="List a chronicle's streams")
async def list_streams(
    chronicle: ChronicleName,
    pool: PoolDep,
    after: Annotated[
        str | None,
        Query(pattern=STREAM_NAME_PATTERN, description="Continue after this name (`next`)"),
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> StreamPage:
    """Streams in name order, a page at a time, each with its version and event count."""
    page = await catalog.list_streams(pool, chronicle, after, limit)
    return StreamPage(items=[StreamOut.of(s) for s in page.items], next=page.next)


@router.put(
    "/{stream}",
    responses={
        200: {
            "description": "The stream existed already; it is returned unchanged",
            "headers": ETAG_HEADER,
        },
        201: {"model": StreamOut, "description": "The stream was created", "headers": ETAG_HEADER},
        **problem_responses(400, 404, 413, 422),
    },
    summary="Create or acquire a stream",
)
async def acquire_stream(
    chronicle: ChronicleName,
    stream: StreamName,
    pool: PoolDep,
    response: Response,
    body: Annotated[StreamIn | None, Body()] = None,
) -> StreamOut:
    """Create the stream if it does not exist (201), else return it as it is (200).

    Idempotent, like ChronoLog's acquire: acquiring an existing stream changes nothing.
    `ETag` is the stream's version (`"-1"` while it has no events).
    """
    attributes = body.attributes if body else {}
    found, created = await catalog.acquire_stream(pool, chronicle, stream, attributes)
    set_etag(response, found.version)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return StreamOut.of(found)


@router.get(
    "/{stream}",
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(404, 422)},
    summary="Get a stream's info",
)
async def get_stream(
    chronicle: ChronicleName, stream: StreamName, pool: PoolDep, response: Response
) -> StreamOut:
    """Version, event count and the first and last `recorded_at` of a stream.

    `ETag` is the version, for `If-Match` on publish.
    """
    found = await catalog.get_stream(pool, chronicle, stream)
    set_etag(response, found.version)
    return StreamOut.of(found)


@router.delete(
    "/{stream}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 422),
    summary="Delete a stream",
)
async def delete_stream(chronicle: ChronicleName, stream: StreamName, pool: PoolDep) -> None:
    """Delete the stream and its events. Their positions are never reused."""
    await catalog.delete_stream(pool, chronicle, stream)
