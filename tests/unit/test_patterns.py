"""Pattern rules against a reference transcription of hat-event's matches_query_type."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.event_types import check_event_type, type_segments
from app.domain.patterns import (
    literal_prefix,
    matches,
    matches_any,
    parse_pattern,
    patterns_regex,
)
from app.errors import InvalidPatternError


def reference_matches(event_type: tuple[str, ...], query_type: tuple[str, ...]) -> bool:
    """hat.event.common.matches_query_type, as published (seeds/hat-event-common.txt)."""
    is_variable = bool(query_type and query_type[-1] == "*")
    if is_variable:
        query_type = query_type[:-1]
    if len(event_type) < len(query_type):
        return False
    if len(event_type) > len(query_type) and not is_variable:
        return False
    for i, j in zip(event_type, query_type, strict=False):
        if j != "?" and i != j:
            return False
    return True


# Few distinct values so that generated patterns and types often match; include regex
# metacharacters and non-ASCII so the SQL translation's escaping is exercised.
segment = st.sampled_from(["a", "b", "a.b", "x+", "(c)", "[d]", "^$", "\\", "é", "a*", "?x", "|"])
types = st.lists(segment, max_size=5).map(tuple)
pattern_segment = st.one_of(segment, st.just("?"))
patterns = st.tuples(st.lists(pattern_segment, max_size=4), st.booleans()).map(
    lambda p: tuple(p[0]) + (("*",) if p[1] else ())
)


def joined(segments: tuple[str, ...]) -> str:
    return "/".join(segments)


@given(patterns, types)
def test_matches_equals_reference(pattern: tuple[str, ...], event_type: tuple[str, ...]) -> None:
    assert matches(pattern, event_type) == reference_matches(event_type, pattern)


@given(types, st.data())
def test_generalising_a_type_keeps_it_matching(
    event_type: tuple[str, ...], data: st.DataObject
) -> None:
    # Replace any segments by '?', then optionally cut the tail off into '*'.
    masked = tuple(data.draw(st.sampled_from([s, "?"])) for s in event_type)
    cut = data.draw(st.integers(0, len(masked)))
    assert matches(masked, event_type)
    assert matches(masked[:cut] + ("*",), event_type)
    assert not matches(masked + ("?",), event_type)


@given(patterns)
def test_parse_round_trips(pattern: tuple[str, ...]) -> None:
    assert parse_pattern(joined(pattern)) == pattern


@given(st.lists(patterns, min_size=1, max_size=3), types)
def test_regex_agrees_with_matcher(
    pattern_list: list[tuple[str, ...]], event_type: tuple[str, ...]
) -> None:
    check_event_type(joined(event_type))
    regex = patterns_regex(pattern_list)
    found = re.fullmatch(regex, joined(event_type), re.DOTALL) is not None
    assert found == matches_any(pattern_list, joined(event_type))


def test_examples() -> None:
    assert matches((), ())
    assert not matches((), ("a",))
    assert matches(("*",), ())
    assert matches(("*",), ("a", "b"))
    assert matches(("a", "*"), ("a",))
    assert not matches(("a", "*"), ("ab",))
    assert matches(("?",), ("a",))
    assert not matches(("?",), ())
    assert not matches(("a", "?"), ("a", "b", "c"))
    assert type_segments("") == ()
    assert parse_pattern("") == ()


@pytest.mark.parametrize("bad", ["*/a", "a/*/b", "a//b", "/a", "a/", "*/*"])
def test_bad_patterns(bad: str) -> None:
    with pytest.raises(InvalidPatternError):
        parse_pattern(bad)


@given(st.lists(patterns, min_size=1, max_size=3), types)
def test_literal_prefix_range_holds_every_match(
    pattern_list: list[tuple[str, ...]], event_type: tuple[str, ...]
) -> None:
    # Python compares str by code point, which is UTF-8 byte order: PostgreSQL's "C".
    prefix = literal_prefix(pattern_list)
    if prefix is not None and matches_any(pattern_list, joined(event_type)):
        assert prefix <= joined(event_type) < prefix + "0"


def test_literal_prefix_examples() -> None:
    assert literal_prefix([("a", "b", "*"), ("a", "b", "c")]) == "a/b"
    assert literal_prefix([("a", "?", "c")]) == "a"
    assert literal_prefix([("a",), ("b",)]) is None
    assert literal_prefix([("*",)]) is None
    assert literal_prefix([()]) is None


def test_control_characters_are_refused() -> None:
    with pytest.raises(InvalidPatternError):
        parse_pattern("a/\u0000")
