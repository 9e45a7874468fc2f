"""Stream retention and deletion rules: which of a stream's events a reader may still see.

A stream keeps EventStoreDB's retention metadata: ``max_count`` (keep the newest N),
``max_age`` (keep events younger than N seconds) and ``truncate_before`` (keep versions
>= N). A delete adds a floor of its own, ``deleted_before``: the stream's version + 1 at
the time, so the events it had stay hidden even if it is recreated and its retention
changed. recorded_at grows with version inside a stream, so every rule keeps a suffix
of the versions, and together they do too: the visible events are those from one
version on. storage/retention.py states the same rule in SQL, for reads and the scavenger.
"""

from dataclasses import dataclass
from enum import StrEnum

from app.domain.expected_version import ExpectedState, ExpectedVersion
from app.errors import InvalidInputError

NANOS_PER_SECOND = 1_000_000_000
MAX_VERSION = 2**63 - 1
# The longest max_age whose nanoseconds still fit in a signed 64-bit integer.
MAX_AGE_SECONDS = MAX_VERSION // NANOS_PER_SECOND


class DeleteMode(StrEnum):
    """``soft``: the stream reads as not found and an append recreates it, continuing its
    version numbers. ``hard``: a tombstone; the stream can never be used again."""

    SOFT = "soft"
    HARD = "hard"


@dataclass(frozen=True, slots=True)
class Retention:
    """A stream's retention metadata; None means no limit of that kind."""

    max_count: int | None = None
    max_age: int | None = None
    """Seconds."""
    truncate_before: int | None = None

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("max_count", self.max_count, 1, MAX_VERSION),
            ("max_age", self.max_age, 1, MAX_AGE_SECONDS),
            ("truncate_before", self.truncate_before, 0, MAX_VERSION),
        ):
            if value is not None and not low <= value <= high:
                raise InvalidInputError(
                    f"{name} must be between {low} and {high} (or null for no limit), not {value}",
                    field=name,
                    value=value,
                )


def first_kept_version(version: int, deleted_before: int, retention: Retention) -> int:
    """The lowest version that deletion, ``truncate_before`` and ``max_count`` keep, for a
    stream whose last event is ``version`` (max_age aside: it depends on the events)."""
    first = max(deleted_before, retention.truncate_before or 0)
    if retention.max_count is not None:
        first = max(first, version + 1 - retention.max_count)
    return first


def oldest_kept_time(retention: Retention, now_ns: int) -> int | None:
    """The earliest recorded_at that ``max_age`` keeps at ``now_ns``; None without max_age."""
    if retention.max_age is None:
        return None
    return now_ns - retention.max_age * NANOS_PER_SECOND


def is_visible(
    event_version: int,
    event_recorded_at: int,
    *,
    version: int,
    deleted_before: int,
    retention: Retention,
    now_ns: int,
) -> bool:
    """Whether a reader at ``now_ns`` sees this event of a (not deleted) stream at ``version``."""
    if event_version < first_kept_version(version, deleted_before, retention):
        return False
    oldest = oldest_kept_time(retention, now_ns)
    return oldest is None or event_recorded_at >= oldest


def recreates_soft_deleted(expected: ExpectedVersion) -> bool:
    """Whether a publish expecting ``expected`` may recreate a soft-deleted stream.

    As in EventStoreDB, a soft-deleted stream counts as no stream: ``any``, ``no_stream``
    and ``empty`` (it holds no event a reader can see) recreate it, with its version
    numbers continuing; ``exists`` and an exact version fail with actual "no stream".
    """
    return expected in (ExpectedState.ANY, ExpectedState.NO_STREAM, ExpectedState.EMPTY)
