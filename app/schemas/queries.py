"""Wire models of the per-chronicle queries (latest, timeseries) and the pattern parameter."""

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field, StringConstraints

from app.domain.queries import QueryResult
from app.schemas.events import PRINTABLE_PATTERN, EventOut

TypePatterns = Annotated[
    # A list defaulting to []: a query string cannot send an empty list, so [] means absent.
    list[Annotated[str, StringConstraints(max_length=512, pattern=PRINTABLE_PATTERN)]],
    Query(
        default_factory=list,
        description=(
            "Type patterns, repeated (`types=a/*&types=b/?`); an event matches if any "
            "pattern does. Segments are separated by `/`; `?` matches exactly one "
            "segment, `*` zero or more and only as the last segment; an empty value is "
            "the empty pattern, matching only the empty type. Absent: every type."
        ),
        examples=[["sensor/temp/*"]],
    ),
]


class QueryOut(BaseModel):
    events: list[EventOut]
    more_follows: bool = Field(
        description="Whether more events match: ask again with `after` = the last event_id"
    )

    @classmethod
    def of(cls, result: QueryResult) -> "QueryOut":
        return cls(events=[EventOut.of(e) for e in result.events], more_follows=result.more_follows)
