"""The publish fast path answers exactly as the FastAPI route does.

Every case is sent twice: to the service as served (plain JSON publishes go through
api/fast_publish.py) and to a second server on the same database running only the
FastAPI stack beneath it (every publish through the route). Each side writes to its own
chronicle, so the answers are compared with the names, ids, positions and times that
necessarily differ taken out.
"""

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from app.config import Settings
from app.main import create_app
from tests.conftest import free_port, serving
from tests.integration.principals import grant, make_principal
from tests.support import AUTH, TIMEOUT, fresh_name


@pytest.fixture(scope="module")
async def routed_server(settings: Settings) -> AsyncIterator[str]:
    """The app without its entry layers: FastAPI's own stack answers every request."""
    app = create_app(settings)

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        await FastAPI.__call__(app, scope, receive, send)

    config = uvicorn.Config(
        routed, host="127.0.0.1", port=free_port(), log_config=None, lifespan="on"
    )
    async with serving(uvicorn.Server(config)) as base:
        yield base


EVENT = {"type": "order/placed", "data": {"n": 1}}


def cases(event_id: str) -> list[tuple[str, dict[str, str], Any, str]]:
    """(name, headers beyond the admin's key, body as bytes or JSON, stream to publish to);
    ``event_id`` is a client-made id (ids are unique across chronicles)."""
    return [
        ("new stream", {}, {"events": [EVENT]}, "s"),
        ("second event", {}, {"expected_version": 0, "events": [EVENT, EVENT]}, "s"),
        ("wrong expected version", {}, {"expected_version": 7, "events": [EVENT]}, "s"),
        (
            "no_stream on an existing one",
            {},
            {"expected_version": "no_stream", "events": [EVENT]},
            "s",
        ),
        ("If-Match that matches", {"If-Match": '"2"'}, {"events": [EVENT]}, "s"),
        ("If-Match that does not", {"If-Match": '"0"'}, {"events": [EVENT]}, "s"),
        ("malformed If-Match", {"If-Match": 'W/"3"'}, {"events": [EVENT]}, "s"),
        ("both preconditions", {"If-Match": "*", "If-None-Match": "*"}, {"events": [EVENT]}, "s"),
        (
            "client ids",
            {},
            {"events": [{**EVENT, "event_id": event_id}]},
            "t",
        ),
        (
            "the same ids again",
            {},
            {"events": [{**EVENT, "event_id": event_id}]},
            "t",
        ),
        (
            "binary data",
            {},
            {"events": [{"type": "b", "data_base64": "AAEC", "content_type": "x/y"}]},
            "u",
        ),
        ("not JSON", {}, b"{not json", "s"),
        ("empty body", {}, b"", "s"),
        ("a JSON array", {}, b"[]", "s"),
        ("no events", {}, {"events": []}, "s"),
        ("an unknown field", {}, {"events": [EVENT], "expected": 1}, "s"),
        ("data and data_base64", {}, {"events": [{**EVENT, "data_base64": "AAEC"}]}, "s"),
        ("a bad type", {}, {"events": [{"type": "a//b", "data": 1}]}, "s"),
        ("a string version", {}, {"expected_version": "3", "events": [EVENT]}, "s"),
        ("a negative version", {}, {"expected_version": -2, "events": [EVENT]}, "s"),
        ("a lone surrogate", {}, b'{"events": [{"type": "x", "data": "\\ud800"}]}', "s"),
        ("NUL in data", {}, {"events": [{"type": "x", "data": "a\u0000b"}]}, "v"),
        ("too many events", {}, {"events": [EVENT] * 51}, "s"),
        ("a bad stream name", {}, {"events": [EVENT]}, "bad%20name"),
        ("a newline in the name", {}, {"events": [EVENT]}, "name%0A"),
        ("no credentials", {"Authorization": ""}, {"events": [EVENT]}, "s"),
        (
            "a wrong key",
            {"Authorization": "Bearer chr_0123456789abcdef_" + "x" * 43},
            {"events": [EVENT]},
            "s",
        ),
        ("invalid body, no credentials", {"Authorization": ""}, b"{not json", "s"),
    ]


_VOLATILE = {"event_id", "position", "recorded_at", "instance", "chronicle", "stream"}


def _comparable(value: Any, chronicle: str) -> Any:
    """``value`` with what differs between two chronicles' identical histories removed."""
    if isinstance(value, dict):
        return {k: _comparable(v, chronicle) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_comparable(v, chronicle) for v in value]
    if isinstance(value, str):
        return value.replace(chronicle, "<chronicle>")
    return value


async def _answers(base: str, chronicle: str) -> list[tuple[str, int, str, Any, dict[str, str]]]:
    answers = []
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, headers=AUTH) as http:
        created = await http.post("/chronicles", json={"name": chronicle})
        assert created.status_code == 201, created.text
        for name, headers, body, stream in cases(str(uuid.uuid4())):
            sent = {"content-type": "application/json", **headers}
            if sent.get("Authorization") == "":
                sent["Authorization"] = "Basic"  # no usable credentials
            content = (
                body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
            )
            response = await http.post(
                f"/chronicles/{chronicle}/streams/{stream}/events", content=content, headers=sent
            )
            kept = {
                h: re.sub(r"/chronicles/[^/]+/", "/chronicles/<chronicle>/", response.headers[h])
                for h in ("content-type", "etag", "location", "www-authenticate")
                if h in response.headers
            }
            answers.append(
                (
                    name,
                    response.status_code,
                    kept.pop("content-type"),
                    _comparable(response.json(), chronicle),
                    kept,
                )
            )
    return answers


async def test_fast_path_answers_as_the_route_does(server: str, routed_server: str) -> None:
    fast = await _answers(server, fresh_name("fast"))
    routed = await _answers(routed_server, fresh_name("routed"))
    for mine, theirs in zip(fast, routed, strict=True):
        assert mine == theirs, mine[0]
    statuses = {name: status for name, status, *_ in fast}
    # The cases cover what they are named for.
    assert statuses["new stream"] == 201 and statuses["the same ids again"] == 200
    assert statuses["wrong expected version"] == 409 and statuses["If-Match that does not"] == 412
    assert statuses["not JSON"] == 400 and statuses["a bad stream name"] == 422
    assert statuses["too many events"] == 413 and statuses["no credentials"] == 401


async def test_fast_path_checks_the_role(client: httpx.AsyncClient, chronicle: str) -> None:
    reader = await make_principal(client, "reader")
    await grant(client, chronicle, reader.name, "read")
    path = f"/chronicles/{chronicle}/streams/s/events"
    refused = await client.post(path, json={"events": [EVENT]}, headers=reader.headers)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    written = await client.get(f"/chronicles/{chronicle}/streams/s/events")
    assert written.status_code == 404  # nothing was written, not even the stream


async def test_fast_path_keeps_request_ids_and_metrics(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    published = await client.post(
        f"/chronicles/{chronicle}/streams/s/events",
        json={"events": [EVENT]},
        headers={"X-Request-Id": "req-fast-1"},
    )
    assert published.status_code == 201, published.text
    assert published.headers["x-request-id"] == "req-fast-1"
    metrics = (await client.get("/metrics")).text
    assert re.search(
        r'chronicle_http_requests_total\{method="POST",'
        r'route="/chronicles/\{chronicle\}/streams/\{stream\}/events",status="201"\} [1-9]',
        metrics,
    ), "publishes are counted under the route's template"
