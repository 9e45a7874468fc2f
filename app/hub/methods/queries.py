"""The unary ``query`` method: hat-event's latest and timeseries, as over REST."""

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from app.domain.access import READ
from app.domain.patterns import parse_patterns
from app.domain.queries import LatestQuery, Order, OrderBy, TimeseriesQuery
from app.hub.calls import CallContext, method
from app.hub.methods.catalog import ChronicleName, Params
from app.schemas.cloudevents import FORMAT_DESCRIPTION, EventFormatName, event_body
from app.schemas.events import Nanoseconds
from app.schemas.queries import QueryOut
from app.storage import queries


class QueryParams(Params):
    """``kind`` "latest": the newest event of each matching type; "timeseries": a window,
    ordered and paged (``after`` = the last event_id of the previous page)."""

    chronicle: str = ChronicleName
    kind: Literal["latest", "timeseries"]
    types: list[str] | None = Field(
        default=None, description="Type patterns ('?' one segment, '*' the rest); any matches"
    )
    t_from: Nanoseconds | None = None
    t_to: Nanoseconds | None = None
    source_t_from: Nanoseconds | None = None
    source_t_to: Nanoseconds | None = None
    order: Order = Order.DESCENDING
    order_by: OrderBy = OrderBy.RECORDED_AT
    max_results: int = Field(default=100, ge=1, le=1000)
    after: UUID | None = None
    format: EventFormatName = Field(default="json", description=FORMAT_DESCRIPTION)


@method("query", QueryParams, need=READ)
async def query(ctx: CallContext, params: QueryParams) -> QueryOut | dict[str, Any]:
    patterns = None if params.types is None else parse_patterns(params.types)
    if params.kind == "latest":
        result = await queries.query_latest(ctx.pool, LatestQuery(params.chronicle, patterns))
    else:
        window = params.model_dump(exclude={"chronicle", "kind", "types", "format"})
        query = TimeseriesQuery(chronicle=params.chronicle, patterns=patterns, **window)
        result = await queries.query_timeseries(ctx.pool, query)
    if params.format == "cloudevents":
        events = [event_body(e, "cloudevents") for e in result.events]
        return {"events": events, "more_follows": result.more_follows}
    return QueryOut.of(result)
