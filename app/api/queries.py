"""Routes for hat-event queries of a chronicle: latest per type, and timeseries."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from app.api.auth import requires
from app.api.cloudevents import (
    MORE_FOLLOWS_HEADER,
    EventFormat,
    FormatDep,
    cloudevents_batch_content,
    cloudevents_response,
)
from app.api.deps import DEFAULT_PAGE_SIZE, ChronicleName, Limit, PoolDep
from app.api.problems import problem_responses
from app.domain.access import READ
from app.domain.patterns import parse_patterns
from app.domain.queries import LatestQuery, Order, OrderBy, QueryResult, TimeseriesQuery
from app.schemas.queries import QueryOut, TypePatterns
from app.storage import queries

router = APIRouter(tags=["queries"])

_QUERY = "/chronicles/{chronicle}/query"
Nanos = Annotated[
    int | None, Query(ge=0, le=2**63 - 1, description="Inclusive bound, nanoseconds since epoch")
]
_RESPONSES = {
    **cloudevents_batch_content(MORE_FOLLOWS_HEADER),
    **problem_responses(404, 422),
}


def _result(result: QueryResult, format: EventFormat) -> QueryOut | Response:
    if format is EventFormat.CLOUDEVENTS:
        more = {MORE_FOLLOWS_HEADER: "true" if result.more_follows else "false"}
        return cloudevents_response(result.events, more)
    return QueryOut.of(result)


@router.get(
    f"{_QUERY}/latest",
    response_model=QueryOut,
    responses=_RESPONSES,
    summary="Latest per type",
    dependencies=[requires(READ)],
)
async def query_latest(
    chronicle: ChronicleName, pool: PoolDep, types: TypePatterns, format: FormatDep
) -> QueryOut | Response:
    """The newest event of each distinct type matching `types`, ordered by type.

    Served from a table the appender keeps, so its cost does not grow with the
    number of events.
    """
    patterns = parse_patterns(types) if types else None
    return _result(await queries.query_latest(pool, LatestQuery(chronicle, patterns)), format)


@router.get(
    f"{_QUERY}/timeseries",
    response_model=QueryOut,
    responses=_RESPONSES,
    summary="Timeseries query",
    dependencies=[requires(READ)],
)
async def query_timeseries(
    chronicle: ChronicleName,
    pool: PoolDep,
    types: TypePatterns,
    format: FormatDep,
    t_from: Nanos = None,
    t_to: Nanos = None,
    source_t_from: Nanos = None,
    source_t_to: Nanos = None,
    order: Order = Order.DESCENDING,
    order_by: OrderBy = OrderBy.RECORDED_AT,
    max_results: Limit = DEFAULT_PAGE_SIZE,
    after: Annotated[
        UUID | None, Query(description="Continue after this event (the last of a page)")
    ] = None,
) -> QueryOut | Response:
    """Events of the chronicle within the inclusive windows on `recorded_at` (`t_from`,
    `t_to`) and `source_timestamp` (`source_t_from`, `source_t_to`), ordered by
    `order_by` (ties by position) in `order`, at most `max_results`.

    Ordering by `source_timestamp` leaves out events without one. When `more_follows`
    is true, repeat the query with `after` set to the last event's `event_id`.
    """
    query = TimeseriesQuery(
        chronicle=chronicle,
        patterns=parse_patterns(types) if types else None,
        t_from=t_from,
        t_to=t_to,
        source_t_from=source_t_from,
        source_t_to=source_t_to,
        order=order,
        order_by=order_by,
        max_results=max_results,
        after=after,
    )
    return _result(await queries.query_timeseries(pool, query), format)
