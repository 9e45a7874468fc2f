"""Stream retention and deletion rules: which events a reader still sees."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.expected_version import ExpectedState
from app.domain.retention import (
    MAX_AGE_SECONDS,
    MAX_VERSION,
    NANOS_PER_SECOND,
    Retention,
    first_kept_version,
    is_visible,
    oldest_kept_time,
    recreates_soft_deleted,
)
from app.errors import InvalidInputError

NOW = 1_800_000_000 * NANOS_PER_SECOND


def test_no_metadata_keeps_everything() -> None:
    assert first_kept_version(9, 0, Retention()) == 0
    assert oldest_kept_time(Retention(), NOW) is None
    assert is_visible(0, 0, version=9, deleted_before=0, retention=Retention(), now_ns=NOW)


def test_max_count_keeps_the_newest_n() -> None:
    assert first_kept_version(9, 0, Retention(max_count=3)) == 7
    assert first_kept_version(1, 0, Retention(max_count=3)) == 0  # fewer than N: all
    assert first_kept_version(-1, 0, Retention(max_count=1)) == 0  # empty stream


def test_truncate_before_and_deleted_before_are_floors() -> None:
    assert first_kept_version(9, 0, Retention(truncate_before=4)) == 4
    assert first_kept_version(9, 6, Retention(truncate_before=4)) == 6
    # The strictest rule wins.
    assert first_kept_version(9, 2, Retention(max_count=5, truncate_before=3)) == 5


def test_max_age_keeps_events_recorded_since_now_minus_the_age() -> None:
    retention = Retention(max_age=60)
    oldest = oldest_kept_time(retention, NOW)
    assert oldest == NOW - 60 * NANOS_PER_SECOND
    kept = {"version": 9, "deleted_before": 0, "retention": retention, "now_ns": NOW}
    assert is_visible(5, oldest, **kept)  # type: ignore[arg-type]
    assert not is_visible(5, oldest - 1, **kept)  # type: ignore[arg-type]


def test_a_visible_event_passes_every_rule() -> None:
    retention = Retention(max_count=5, max_age=60)
    recent = NOW - NANOS_PER_SECOND
    kept = {"version": 9, "retention": retention, "now_ns": NOW}
    assert is_visible(5, recent, deleted_before=0, **kept)  # type: ignore[arg-type]
    assert not is_visible(4, recent, deleted_before=0, **kept)  # type: ignore[arg-type]
    assert not is_visible(5, recent, deleted_before=6, **kept)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"max_count": 0},
        {"max_count": MAX_VERSION + 1},
        {"max_age": 0},
        {"max_age": MAX_AGE_SECONDS + 1},
        {"truncate_before": -1},
    ],
)
def test_out_of_range_metadata_is_refused(fields: dict[str, int]) -> None:
    with pytest.raises(InvalidInputError):
        Retention(**fields)


def test_limits_at_their_bounds_are_accepted() -> None:
    Retention(max_count=1, max_age=MAX_AGE_SECONDS, truncate_before=0)
    Retention(max_count=MAX_VERSION, max_age=1, truncate_before=MAX_VERSION)


def test_only_expectations_of_no_visible_event_recreate_a_soft_deleted_stream() -> None:
    assert recreates_soft_deleted(ExpectedState.ANY)
    assert recreates_soft_deleted(ExpectedState.NO_STREAM)
    assert recreates_soft_deleted(ExpectedState.EMPTY)
    assert not recreates_soft_deleted(ExpectedState.EXISTS)
    assert not recreates_soft_deleted(3)


@given(
    version=st.integers(-1, 200),
    deleted_before=st.integers(0, 50),
    max_count=st.none() | st.integers(1, 100),
    truncate_before=st.none() | st.integers(0, 100),
    max_age=st.none() | st.integers(1, 100),
    step=st.integers(1, 3 * NANOS_PER_SECOND),
)
def test_what_stays_visible_is_a_suffix_of_the_versions(
    version: int,
    deleted_before: int,
    max_count: int | None,
    truncate_before: int | None,
    max_age: int | None,
    step: int,
) -> None:
    """recorded_at grows with version, so every rule, and all together, keep a suffix:
    the property the reader's first-visible index seek and the scavenger rely on."""
    retention = Retention(max_count=max_count, max_age=max_age, truncate_before=truncate_before)
    times = [NOW - (version - v) * step for v in range(version + 1)]
    visible = [
        is_visible(
            v,
            times[v],
            version=version,
            deleted_before=deleted_before,
            retention=retention,
            now_ns=NOW,
        )
        for v in range(version + 1)
    ]
    assert visible == sorted(visible)  # some False, then only True
    first = first_kept_version(version, deleted_before, retention)
    assert not any(visible[:first])
