"""HTTP-native optimistic concurrency: ETag = stream version; If-Match, If-None-Match on publish."""

import re
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from starlette.datastructures import Headers

from app.domain.expected_version import ExpectedState, ExpectedVersion
from app.errors import ConflictingPreconditionsError, MalformedPreconditionError

_MAX_VERSION = 2**63 - 1
# Chronicle's ETags: a strong tag of the version; "-1" is an existing stream without events.
_VERSION_TAG = re.compile(r'"(-1|0|[1-9][0-9]{0,18})"')

ETAG_HEADER: dict[str, Any] = {
    "ETag": {
        "description": 'The stream version as a strong entity tag, e.g. `"3"`; `"-1"` for a '
        "stream without events. Send it back in `If-Match` to publish only if nothing changed.",
        "schema": {"type": "string", "examples": ['"3"']},
    }
}


def etag(version: int) -> str:
    """The ETag of a stream (or an event) at ``version``: a quoted, strong tag."""
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def _parse_if_match(values: list[str]) -> ExpectedVersion:
    if len(values) != 1 or "," in values[0]:
        raise MalformedPreconditionError(
            "If-Match takes exactly one entity tag: the stream version as returned in ETag",
            header="If-Match",
        )
    value = values[0].strip()
    if value == "*":
        return ExpectedState.EXISTS
    if value.startswith("W/"):
        raise MalformedPreconditionError(
            f"If-Match {value!r} is a weak tag, which never matches: "
            'Chronicle\'s ETags are strong, e.g. "3"',
            header="If-Match",
        )
    found = _VERSION_TAG.fullmatch(value)
    if found is None or int(found[1]) > _MAX_VERSION:
        raise MalformedPreconditionError(
            f'If-Match {value!r} is not a stream version: send the ETag as given, e.g. "3" '
            '(quotes included), "-1" for an empty stream, or * for any existing stream',
            header="If-Match",
        )
    version = int(found[1])
    return ExpectedState.EMPTY if version == -1 else version


def _parse_if_none_match(values: list[str]) -> ExpectedVersion:
    if len(values) != 1 or values[0].strip() != "*":
        raise MalformedPreconditionError(
            "If-None-Match on publish accepts only *: publish only if the stream does not exist",
            header="If-None-Match",
        )
    return ExpectedState.NO_STREAM


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='Publish only if the stream version equals this ETag (e.g. `"3"`, '
        '`"-1"` for an empty stream), or with `*` only if the stream exists. '
        "412 on mismatch.",
        examples=['"3"'],
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="`*`: publish only if the stream does not exist yet. 412 if it does.",
        examples=["*"],
    ),
]


def expected_version_from_headers(headers: Headers) -> ExpectedVersion | None:
    """The expected version the request's precondition headers state, or None without them."""
    # Parameters document the headers; the raw headers show whether one was sent twice.
    if_match_values = headers.getlist("If-Match")
    if_none_match_values = headers.getlist("If-None-Match")
    if if_match_values and if_none_match_values:
        raise ConflictingPreconditionsError(
            "give either If-Match or If-None-Match, not both",
            headers=["If-Match", "If-None-Match"],
        )
    if if_match_values:
        return _parse_if_match(if_match_values)
    if if_none_match_values:
        return _parse_if_none_match(if_none_match_values)
    return None


async def header_expected_version(
    request: Request, if_match: IfMatch = None, if_none_match: IfNoneMatch = None
) -> ExpectedVersion | None:
    """The expected version the request's precondition headers state, or None without them."""
    return expected_version_from_headers(request.headers)


HeaderExpectedVersion = Annotated[ExpectedVersion | None, Depends(header_expected_version)]


def choose_expected_version(
    from_headers: ExpectedVersion | None, body: ExpectedVersion
) -> ExpectedVersion:
    """The one expected version of a publish, from the headers, the body, or both if they agree.

    The body's default ``any`` states nothing, so it never conflicts with a header.
    """
    if from_headers is None:
        return body
    if body is not ExpectedState.ANY and body != from_headers:
        raise ConflictingPreconditionsError(
            f"the precondition header says {_shown(from_headers)} but the body's "
            f"expected_version says {_shown(body)}: give one, or make them agree",
            header=_shown(from_headers),
            expected_version=_shown(body),
        )
    return from_headers


def _shown(expected: ExpectedVersion) -> str | int:
    return expected if isinstance(expected, int) else expected.value
