"""Pure rules: names, event types, expected version (property-based where it pays)."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.event_types import check_event_type, type_segments
from app.domain.expected_version import ExpectedState, is_satisfied, parse_expected_version
from app.domain.names import CHRONICLE_NAME_PATTERN, STREAM_NAME_PATTERN
from app.errors import InvalidEventTypeError, InvalidInputError

versions = st.none() | st.integers(min_value=-1, max_value=10**6)


@given(actual=versions)
def test_any_always_satisfied(actual: int | None) -> None:
    assert is_satisfied(ExpectedState.ANY, actual)


@given(actual=versions)
def test_states_match_their_definitions(actual: int | None) -> None:
    assert is_satisfied(ExpectedState.NO_STREAM, actual) == (actual is None)
    assert is_satisfied(ExpectedState.EXISTS, actual) == (actual is not None)
    assert is_satisfied(ExpectedState.EMPTY, actual) == (actual == -1)


@given(expected=st.integers(min_value=0, max_value=10**6), actual=versions)
def test_exact_version_only_matches_itself(expected: int, actual: int | None) -> None:
    assert is_satisfied(expected, actual) == (actual == expected)


@pytest.mark.parametrize("wire", ["any", "no_stream", "exists", "empty", 0, 7])
def test_parse_accepts_wire_forms(wire: str | int) -> None:
    parsed = parse_expected_version(wire)
    assert parsed == wire


@pytest.mark.parametrize("wire", [-1, -5, "latest", "", None, True, 1.5, [0]])
def test_parse_rejects_everything_else(wire: object) -> None:
    with pytest.raises(InvalidInputError):
        parse_expected_version(wire)


@pytest.mark.parametrize("name", ["a", "sensors", "a.b-c_d", "X" * 128])
def test_valid_chronicle_names(name: str) -> None:
    assert re.fullmatch(CHRONICLE_NAME_PATTERN, name)


@pytest.mark.parametrize("name", ["", "X" * 129, "a b", "a/b", "ä", "a:b"])
def test_invalid_chronicle_names(name: str) -> None:
    assert not re.fullmatch(CHRONICLE_NAME_PATTERN, name)


def test_stream_names_allow_colon_and_at() -> None:
    assert re.fullmatch(STREAM_NAME_PATTERN, "order:42@eu")
    assert not re.fullmatch(STREAM_NAME_PATTERN, "a/b")


def test_type_segments() -> None:
    assert type_segments("") == ()
    assert type_segments("sensor/temp/room1") == ("sensor", "temp", "room1")


@pytest.mark.parametrize("bad", ["/a", "a/", "a//b", "a/?/b", "*", "a/*", "x" * 513])
def test_invalid_event_types(bad: str) -> None:
    with pytest.raises(InvalidEventTypeError):
        check_event_type(bad)


@given(st.lists(st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=5), max_size=6))
def test_type_segments_round_trip(segments: list[str]) -> None:
    event_type = "/".join(segments)
    assert type_segments(check_event_type(event_type)) == tuple(segments)
