"""Query parameters per chronicle (hat-event's latest and timeseries), checked once here."""

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from app.domain.events import RecordedEvent
from app.domain.patterns import Pattern
from app.errors import InvalidRangeError


class Order(StrEnum):
    ASCENDING = "ascending"
    DESCENDING = "descending"


class OrderBy(StrEnum):
    RECORDED_AT = "recorded_at"
    SOURCE_TIMESTAMP = "source_timestamp"


@dataclass(frozen=True, slots=True)
class LatestQuery:
    """The newest event of each distinct type matching ``patterns`` (None: every type)."""

    chronicle: str
    patterns: list[Pattern] | None = None


@dataclass(frozen=True, slots=True)
class TimeseriesQuery:
    """Events of a chronicle in a time window, ordered, in pages of ``max_results``.

    Windows are inclusive nanosecond bounds; ``after`` is the event id of the last
    event of the previous page (hat-event's last_event_id). Ordering by
    source_timestamp leaves out events that have none. Ties are broken by position.
    """

    chronicle: str
    patterns: list[Pattern] | None = None
    t_from: int | None = None
    t_to: int | None = None
    source_t_from: int | None = None
    source_t_to: int | None = None
    order: Order = Order.DESCENDING
    order_by: OrderBy = OrderBy.RECORDED_AT
    max_results: int = 100
    after: UUID | None = None

    def __post_init__(self) -> None:
        _check_range("t_from", self.t_from, "t_to", self.t_to)
        _check_range("source_t_from", self.source_t_from, "source_t_to", self.source_t_to)
        if self.max_results < 1:
            raise InvalidRangeError("max_results must be at least 1", max_results=self.max_results)


@dataclass(frozen=True, slots=True)
class QueryResult:
    events: list[RecordedEvent]
    more_follows: bool


def _check_range(low_name: str, low: int | None, high_name: str, high: int | None) -> None:
    if low is not None and high is not None and high < low:
        raise InvalidRangeError(
            f"{high_name} ({high}) is before {low_name} ({low}): bounds are inclusive, "
            f"{low_name} <= {high_name}",
            **{low_name: low, high_name: high},
        )
