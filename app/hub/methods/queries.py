"""The unary ``query`` method: hat-event's latest and timeseries, as over REST."""

from typing import Literal
from uuid import UUID

from pydantic import Field

from app.domain.patterns import parse_patterns
from app.domain.queries import LatestQuery, Order, OrderBy, TimeseriesQuery
from app.hub.calls import CallContext, method
from app.hub.methods.catalog import ChronicleName, Params
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


@method("query", QueryParams)
async def query(ctx: CallContext, params: QueryParams) -> QueryOut:
    patterns = None if params.types is None else parse_patterns(params.types)
    if params.kind == "latest":
        result = await queries.query_latest(ctx.pool, LatestQuery(params.chronicle, patterns))
    else:
        window = params.model_dump(exclude={"chronicle", "kind", "types"})
        query = TimeseriesQuery(chronicle=params.chronicle, patterns=patterns, **window)
        result = await queries.query_timeseries(ctx.pool, query)
    return QueryOut.of(result)
