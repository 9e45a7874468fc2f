"""The publish route's fast path: a plain JSON publish answered without FastAPI's routing.

Profiled under figure 1 of the benchmarks (64 clients publishing single events, 1
worker), FastAPI's layers, route matching, dependency solving and its two-step body
parsing (``json.loads``, then validating the objects) took about 60% of the server's CPU
per publish, the append itself 6%. This layer answers the common case itself: ``POST
/chronicles/{chronicle}/streams/{stream}/events`` with a JSON body, no query and no
CloudEvents headers. It runs the route's own access check (its ``Requires``), validates
the body bytes in one step (``PublishIn.model_validate_json``) and then calls the same
code as the route (``events.publish_response``); errors are answered by the same
handlers (``problems.problem_for``).

Whatever it does not take it hands to FastAPI untouched, and a body that fails
validation (or names that do not match their patterns) it hands on with the body
replayed, so FastAPI still gives every 400 and 422 in its one shape, after its own
access check, as the route always has.
"""

import re

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import events
from app.api.auth import Requires, route_requirement
from app.api.problems import problem_for
from app.domain.names import CHRONICLE_NAME_PATTERN, STREAM_NAME_PATTERN
from app.schemas.events import PublishIn

_PATH = re.compile(r"/chronicles/([^/]+)/streams/([^/]+)/events")
_CHRONICLE = re.compile(CHRONICLE_NAME_PATTERN)
_STREAM = re.compile(STREAM_NAME_PATTERN)


def _plain_json(scope: Scope) -> bool:
    """No query (a JSON body carries its own expected version) and a JSON body that is not
    a CloudEvent (binary-mode CloudEvents send ``ce-*`` headers with any content type)."""
    if scope["query_string"]:
        return False
    content_type = b""
    for name, value in scope["headers"]:
        if name.startswith(b"ce-"):
            return False
        if name == b"content-type":
            content_type = value
    return content_type.split(b";")[0].strip().lower() == b"application/json"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once more, then what the connection gives."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


class PublishFastPath:
    """ASGI: JSON publishes answered here, everything else by ``fallback`` (the app's
    FastAPI stack)."""

    def __init__(self, app: FastAPI, fallback: ASGIApp) -> None:
        self.app = app
        self.fallback = fallback
        self.route = next(
            r
            for r in events.router.routes
            if isinstance(r, APIRoute) and r.endpoint is events.publish_events
        )
        requirement = route_requirement(self.route)
        assert requirement is not None, "publish must declare who may call it"
        self.requirement: Requires = requirement

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.fallback(scope, receive, send)
            return
        match = _PATH.fullmatch(scope["path"])
        if match is None or not _plain_json(scope):
            await self.fallback(scope, receive, send)
            return
        chronicle, stream = match[1], match[2]
        request = Request(scope, receive)
        try:
            body = await request.body()
        except ClientDisconnect:
            return
        try:
            publish = (
                PublishIn.model_validate_json(body)
                if _CHRONICLE.fullmatch(chronicle) and _STREAM.fullmatch(stream)
                else None
            )
        except ValidationError:
            publish = None
        if publish is None:
            await self.fallback(scope, _replay(body, receive), send)
            return
        # What FastAPI's app and router would have put in the scope.
        scope["app"] = self.app
        scope["route"] = self.route
        scope["endpoint"] = events.publish_events
        scope["path_params"] = {"chronicle": chronicle, "stream": stream}
        try:
            await self.requirement(request)
            response = await events.publish_response(request, chronicle, stream, publish)
        except Exception as error:
            response = await problem_for(request, error)
        await response(scope, receive, send)
