"""Routes for streams (ChronoLog's stories) inside a chronicle."""

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from app.api.auth import requires
from app.api.deps import DEFAULT_PAGE_SIZE, ChronicleName, Limit, PoolDep, StreamName
from app.api.preconditions import ETAG_HEADER, set_etag
from app.api.problems import problem_responses
from app.domain.access import ADMIN, READ, WRITE
from app.domain.names import STREAM_NAME_PATTERN
from app.domain.retention import DeleteMode
from app.schemas.catalog import StreamIn, StreamMetadata, StreamOut, StreamPage
from app.storage import catalog, deletion

router = APIRouter(prefix="/chronicles/{chronicle}/streams", tags=["streams"])


@router.get(
    "",
    responses=problem_responses(404, 422),
    summary="List a chronicle's streams",
    dependencies=[requires(READ)],
)
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
        **problem_responses(400, 404, 410, 413, 422),
    },
    summary="Create or acquire a stream",
    dependencies=[requires(WRITE)],
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
    A soft-deleted stream is recreated (201) with these attributes; its version and
    metadata carry on. A hard-deleted one answers 410 `stream_deleted`.
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
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(404, 410, 422)},
    summary="Get a stream's info",
    dependencies=[requires(READ)],
)
async def get_stream(
    chronicle: ChronicleName, stream: StreamName, pool: PoolDep, response: Response
) -> StreamOut:
    """Version, visible event count, the first and last visible `recorded_at`, and the
    retention metadata of a stream. A soft-deleted stream is 404, a hard-deleted one 410.

    `ETag` is the version, for `If-Match` on publish.
    """
    found = await catalog.get_stream(pool, chronicle, stream)
    set_etag(response, found.version)
    return StreamOut.of(found)


@router.delete(
    "/{stream}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 410, 422),
    summary="Delete a stream",
    dependencies=[requires(ADMIN)],
)
async def delete_stream(
    chronicle: ChronicleName,
    stream: StreamName,
    pool: PoolDep,
    mode: Annotated[
        DeleteMode, Query(description="`soft` (default) or `hard` (a tombstone, for good)")
    ] = DeleteMode.SOFT,
) -> None:
    """Delete a stream, with EventStoreDB's two modes.

    `soft`: the stream reads as not found (404) and is left out of listings; publishing to
    it (or acquiring it) recreates it, its version numbers continuing where they were, and
    its old events are never visible again. Expected version `no_stream`, `empty` and
    `any` recreate it; `exists` and an exact version fail as for a missing stream.

    `hard`: a tombstone. Every later read, publish, acquire, metadata call or delete of the
    stream answers 410 `stream_deleted`; the name can never be used again in this chronicle.

    Either way the events disappear from every read at once (the stream, the global log,
    queries, subscriptions); a background job removes them from storage later. Positions
    are never reused.
    """
    await deletion.delete_stream(pool, chronicle, stream, mode)


@router.get(
    "/{stream}/metadata",
    responses=problem_responses(404, 410, 422),
    summary="Get a stream's retention metadata",
    dependencies=[requires(READ)],
)
async def get_stream_metadata(
    chronicle: ChronicleName, stream: StreamName, pool: PoolDep
) -> StreamMetadata:
    """`max_count`, `max_age` (seconds) and `truncate_before` (a version); null: no limit."""
    return StreamMetadata.of(await catalog.get_retention(pool, chronicle, stream))


@router.put(
    "/{stream}/metadata",
    responses=problem_responses(400, 404, 410, 413, 422),
    summary="Set a stream's retention metadata",
    dependencies=[requires(ADMIN)],
)
async def set_stream_metadata(
    chronicle: ChronicleName, stream: StreamName, body: StreamMetadata, pool: PoolDep
) -> StreamMetadata:
    """Replace the retention metadata as a whole (a field left out or null: no limit).

    Reads of the stream, the chronicle, the global log, queries and subscriptions stop
    returning the events it excludes at once; the scavenger removes them from storage on
    its next pass (`CHRONICLE_RETENTION_INTERVAL`). Loosening it shows again only what has
    not been removed yet. Versions and positions of the other events never change.
    """
    return StreamMetadata.of(
        await catalog.set_retention(pool, chronicle, stream, body.to_retention())
    )
