"""CloudEvents over REST: choosing the format of reads, and publishing CloudEvents.

Reads answer CloudEvents for ``?format=cloudevents`` or an ``Accept`` naming
``application/cloudevents+json`` / ``application/cloudevents-batch+json``: one event as
``application/cloudevents+json``, a page as a ``application/cloudevents-batch+json`` array
whose continuation moves to headers (``Chronicle-Next``, ``Chronicle-More-Follows``).

Publishing accepts ``application/cloudevents+json`` (one event),
``application/cloudevents-batch+json`` (an array) and binary mode (``ce-specversion`` and
the other ``ce-*`` headers, the body the data); the expected version is then the
``expected_version`` query parameter. The route class turns such a request into the JSON
body the publish route already takes, so both modes share one validation and append path.
"""

from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Request, Response
from fastapi.routing import APIRoute

from app.domain.events import RecordedEvent
from app.errors import InvalidCloudEventError, InvalidInputError, MalformedJsonError
from app.schemas.cloudevents import (
    BATCH_MEDIA_TYPE,
    STRUCTURED_MEDIA_TYPE,
    binary_event_in,
    cloudevent,
    event_in,
)

NEXT_HEADER = "Chronicle-Next"
MORE_FOLLOWS_HEADER = "Chronicle-More-Follows"


class EventFormat(StrEnum):
    JSON = "json"
    CLOUDEVENTS = "cloudevents"


async def _event_format(
    request: Request,
    format: Annotated[
        EventFormat | None,
        Query(
            description="`cloudevents`: answer CloudEvents 1.0 structured JSON (as does an "
            "Accept of application/cloudevents+json or application/cloudevents-batch+json)"
        ),
    ] = None,
) -> EventFormat:
    if format is not None:
        return format
    accept = request.headers.get("accept", "")
    if STRUCTURED_MEDIA_TYPE in accept or BATCH_MEDIA_TYPE in accept:
        return EventFormat.CLOUDEVENTS
    return EventFormat.JSON


FormatDep = Annotated[EventFormat, Depends(_event_format)]


def _kept_headers(route_response: Response | None) -> dict[str, str]:
    # A returned Response replaces the one FastAPI injected: carry over what routes set.
    if route_response is None or "etag" not in route_response.headers:
        return {}
    return {"ETag": route_response.headers["etag"]}


def cloudevent_response(event: RecordedEvent, route_response: Response | None = None) -> Response:
    body = orjson.dumps(cloudevent(event))
    headers = _kept_headers(route_response)
    return Response(body, media_type=STRUCTURED_MEDIA_TYPE, headers=headers)


def cloudevents_response(
    events: Iterable[RecordedEvent],
    headers: dict[str, str],
    route_response: Response | None = None,
) -> Response:
    body = orjson.dumps([cloudevent(e) for e in events])
    headers = {**headers, **_kept_headers(route_response)}
    return Response(body, media_type=BATCH_MEDIA_TYPE, headers=headers)


def page_headers(next_: int | None) -> dict[str, str]:
    return {} if next_ is None else {NEXT_HEADER: str(next_)}


_SCHEMA = {"$ref": "#/components/schemas/CloudEvent"}  # added in app.main


_CONTINUATION = {
    NEXT_HEADER: {
        "description": "Where the next page starts; absent when there is nothing further. "
        "Sent with CloudEvents batches, which have no room for `next`",
        "schema": {"type": "integer"},
    },
    MORE_FOLLOWS_HEADER: {
        "description": "`true` when more events match: ask again with `after` = the last "
        "event's id. Sent with CloudEvents batches",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
}


def cloudevent_content(headers: dict[str, Any] | None = None) -> dict[int | str, Any]:
    """OpenAPI ``responses`` entry: the 200 may also be one CloudEvent."""
    content = {STRUCTURED_MEDIA_TYPE: {"schema": _SCHEMA}}
    return {200: {"content": content, **({"headers": headers} if headers else {})}}


def cloudevents_batch_content(
    continuation: str = NEXT_HEADER, headers: dict[str, Any] | None = None
) -> dict[int | str, Any]:
    """OpenAPI ``responses`` entry: the 200 may also be a CloudEvents batch."""
    batch = {"type": "array", "items": _SCHEMA}
    return {
        200: {
            "content": {BATCH_MEDIA_TYPE: {"schema": batch}},
            "headers": {**(headers or {}), continuation: _CONTINUATION[continuation]},
        }
    }


PUBLISH_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": "expected_version",
            "in": "query",
            "required": False,
            "description": "The expected version for a CloudEvents publish (structured or "
            "binary), as in the JSON body: any (when absent) | no_stream | exists | empty | a "
            "number. Not allowed with a JSON body, which carries its own",
            "schema": {"type": "string"},
        }
    ],
    "requestBody": {
        # The batch media type is described, not listed: openapi-python-client emits
        # isinstance(body, list[...]) for an array body among several media types.
        "description": "A publish (JSON); one CloudEvent (application/cloudevents+json); "
        "a non-empty JSON array of CloudEvent (Content-Type: "
        "application/cloudevents-batch+json), published atomically; or binary mode: "
        "`ce-*` headers (`ce-specversion`, `ce-id`, `ce-type`, `ce-source`, `ce-time`, "
        "extensions) with the data as the body, of any Content-Type",
        "content": {
            STRUCTURED_MEDIA_TYPE: {"schema": _SCHEMA},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


def _is_binary_mode(request: Request) -> bool:
    return "ce-specversion" in request.headers


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _publish_body(request: Request) -> bytes:
    """The JSON publish body equivalent to a CloudEvents request."""
    chronicle = request.path_params["chronicle"]
    stream = request.path_params["stream"]
    body = await request.body()
    if _is_binary_mode(request):
        events = [binary_event_in(request.headers, body, chronicle, stream)]
    else:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise MalformedJsonError(f"the body is not valid JSON: {error}") from error
        if _media_type(request) == BATCH_MEDIA_TYPE:
            if not isinstance(parsed, list) or not parsed:
                raise InvalidCloudEventError("a CloudEvents batch is a non-empty JSON array")
            events = []
            for index, item in enumerate(parsed):
                try:
                    events.append(event_in(item, chronicle, stream))
                except InvalidCloudEventError as error:
                    raise InvalidCloudEventError(
                        f"event {index}: {error.detail}", index=index, **error.details
                    ) from error
        else:
            events = [event_in(parsed, chronicle, stream)]
    publish: dict[str, Any] = {
        "events": [e.model_dump(mode="json", exclude_unset=True) for e in events],
        "expected_version": _expected_version(request.query_params.get("expected_version")),
    }
    return orjson.dumps(publish)


def _expected_version(text: str | None) -> str | int:
    if text is None:
        return "any"
    return int(text) if text.isdigit() else text


def _as_json_publish(request: Request, body: bytes) -> Request:
    headers = [
        (name, value)
        for name, value in request.scope["headers"]
        if name not in (b"content-type", b"content-length")
    ]
    headers += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({**request.scope, "headers": headers}, receive)


class CloudEventsRoute(APIRoute):
    """Routes whose POST also takes CloudEvents (structured or binary) as a publish."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            if request.method == "POST":
                if _is_binary_mode(request) or _media_type(request) in (
                    STRUCTURED_MEDIA_TYPE,
                    BATCH_MEDIA_TYPE,
                ):
                    request = _as_json_publish(request, await _publish_body(request))
                elif "expected_version" in request.query_params:
                    raise InvalidInputError(
                        "the expected_version query parameter is for CloudEvents publishes; "
                        "a JSON body carries expected_version itself"
                    )
            return await handler(request)

        return route
