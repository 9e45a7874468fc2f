"""Hierarchical event types: strings of '/'-separated segments."""

from app.errors import InvalidEventTypeError

MAX_TYPE_LENGTH = 512
_WILDCARDS = frozenset({"?", "*"})


def type_segments(event_type: str) -> tuple[str, ...]:
    """The segment tuple of a type; the empty string is the empty type ()."""
    return tuple(event_type.split("/")) if event_type else ()


def check_event_type(event_type: str) -> str:
    """Return ``event_type`` if it is storable, else raise InvalidEventTypeError.

    Segments must be non-empty and may not be the pattern wildcards '?' or '*',
    so that every stored type is matched by patterns unambiguously.
    """
    if len(event_type) > MAX_TYPE_LENGTH:
        raise InvalidEventTypeError(
            f"event type is {len(event_type)} characters long; the limit is {MAX_TYPE_LENGTH}"
        )
    for segment in type_segments(event_type):
        if not segment:
            raise InvalidEventTypeError(
                f"event type {event_type!r} has an empty segment: no leading, trailing or "
                "doubled '/'"
            )
        if segment in _WILDCARDS:
            raise InvalidEventTypeError(
                f"event type {event_type!r} uses the wildcard {segment!r} as a segment; "
                "wildcards belong in patterns only"
            )
    return event_type
