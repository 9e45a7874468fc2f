"""Optimistic concurrency: what a publisher expects of a stream's version."""

from enum import StrEnum
from typing import TypeAlias

from app.errors import InvalidInputError


class ExpectedState(StrEnum):
    """What a publisher may expect of a stream besides an exact version: any state, no
    stream, a stream that exists (maybe empty), or one that exists and is empty."""

    ANY = "any"
    NO_STREAM = "no_stream"
    EXISTS = "exists"
    EMPTY = "empty"


ExpectedVersion: TypeAlias = ExpectedState | int
"""``ExpectedState`` or an exact last event number N >= 0."""


def parse_expected_version(value: object) -> ExpectedVersion:
    """Accept the wire forms: one of the state names, or an integer >= 0."""
    if isinstance(value, bool):
        raise InvalidInputError(f"invalid expected_version {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise InvalidInputError(
                f"invalid expected_version {value}: an exact version is >= 0; "
                "use 'no_stream' or 'empty' for a stream without events"
            )
        return value
    if isinstance(value, str):
        try:
            return ExpectedState(value)
        except ValueError:
            pass
    raise InvalidInputError(
        f"invalid expected_version {value!r}: use any, no_stream, exists, empty or an integer >= 0"
    )


def is_satisfied(expected: ExpectedVersion, actual: int | None) -> bool:
    """Whether a publish expecting ``expected`` may write to a stream at ``actual``.

    ``actual`` is None when the stream does not exist, -1 when it exists but is empty.
    """
    if expected is ExpectedState.ANY:
        return True
    if expected is ExpectedState.NO_STREAM:
        return actual is None
    if expected is ExpectedState.EXISTS:
        return actual is not None
    if expected is ExpectedState.EMPTY:
        return actual == -1
    return actual == expected
