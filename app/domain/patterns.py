"""Type patterns (hat-event rules): parsing, matching, and their translation to a regex."""

from collections.abc import Iterable, Sequence

from app.domain.event_types import MAX_TYPE_LENGTH, type_segments
from app.errors import InvalidPatternError

MAX_PATTERNS = 64
ANY_ONE = "?"
ANY_REST = "*"

Pattern = tuple[str, ...]


def parse_pattern(pattern: str) -> Pattern:
    """The segment tuple of ``pattern``; raise InvalidPatternError if it is malformed.

    '?' matches exactly one segment, '*' zero or more and only as the last segment;
    the empty string is the empty pattern, which matches only the empty type.
    Empty segments are refused: no stored type has one, so they could never match.
    """
    if len(pattern) > MAX_TYPE_LENGTH:
        raise InvalidPatternError(
            f"pattern is {len(pattern)} characters long; the limit is {MAX_TYPE_LENGTH}",
            pattern=pattern[:64],
        )
    if any(ord(c) < 0x20 for c in pattern):
        raise InvalidPatternError(
            f"pattern {pattern!r} contains a control character", pattern=pattern[:64]
        )
    segments = type_segments(pattern)
    for i, segment in enumerate(segments):
        if not segment:
            raise InvalidPatternError(
                f"pattern {pattern!r} has an empty segment: no leading, trailing or doubled '/'",
                pattern=pattern,
            )
        if segment == ANY_REST and i != len(segments) - 1:
            raise InvalidPatternError(
                f"pattern {pattern!r} uses '*' before its last segment; '*' may only be last",
                pattern=pattern,
            )
    return segments


def parse_patterns(patterns: Iterable[str]) -> list[Pattern]:
    """Parse each pattern; raise InvalidPatternError for a bad one or too many."""
    parsed = [parse_pattern(p) for p in patterns]
    if len(parsed) > MAX_PATTERNS:
        raise InvalidPatternError(
            f"{len(parsed)} patterns given; the limit is {MAX_PATTERNS}", count=len(parsed)
        )
    return parsed


def matches(pattern: Pattern, segments: Sequence[str]) -> bool:
    """Whether a type's ``segments`` match ``pattern`` (hat-event's matches_query_type)."""
    rest = bool(pattern) and pattern[-1] == ANY_REST
    fixed = pattern[:-1] if rest else pattern
    if len(segments) < len(fixed) or (len(segments) > len(fixed) and not rest):
        return False
    return all(p == ANY_ONE or p == s for p, s in zip(fixed, segments, strict=False))


def matches_any(patterns: Iterable[Pattern], event_type: str) -> bool:
    """Whether the type string ``event_type`` matches at least one of ``patterns``."""
    segments = type_segments(event_type)
    return any(matches(p, segments) for p in patterns)


def literal_prefix(patterns: Sequence[Pattern]) -> str | None:
    """The leading literal segments all ``patterns`` share, joined; None if there are none.

    Every type matching one of them equals this prefix or starts with it plus '/', so
    in byte order it lies in ``[prefix, prefix + "0")`` ('0' follows '/'): a range a
    btree on a "C"-collated column can serve, leaving the regex to filter within it.
    """
    shared: list[str] = []
    for segments in zip(*patterns, strict=False):
        first = segments[0]
        if first in (ANY_ONE, ANY_REST) or any(s != first for s in segments):
            break
        shared.append(first)
    return "/".join(shared) if patterns and shared else None


def _literal(segment: str) -> str:
    # In PostgreSQL's ARE (and Python's re) a backslash before a non-alphanumeric
    # character stands for that character, so this escapes every metacharacter.
    return "".join(c if c.isalnum() or c == "_" else "\\" + c for c in segment)


def _regex_body(pattern: Pattern) -> str:
    rest = bool(pattern) and pattern[-1] == ANY_REST
    fixed = pattern[:-1] if rest else pattern
    body = "/".join("[^/]+" if s == ANY_ONE else _literal(s) for s in fixed)
    if not rest:
        return body
    # '*' adds zero or more segments: after a prefix they start with '/'; alone, any type.
    return body + "(?:/.*)?" if fixed else ".*"


def patterns_regex(patterns: Sequence[Pattern]) -> str:
    """One anchored regex matching exactly the types that match any of ``patterns``.

    Used in SQL as ``type ~ $n`` (PostgreSQL ARE, not newline-sensitive, so '.' and the
    anchors behave as in Python's ``re.fullmatch(..., re.DOTALL)``). No index serves a
    general regex; storage applies it as a filter over an index chosen by the other
    conditions (chronicle, position, time), or over the small latest_events table.
    """
    return "^(?:" + "|".join(_regex_body(p) for p in patterns) + ")$"
