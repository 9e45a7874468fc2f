"""CloudEvents 1.0 out (REST reads, WebSocket calls) and in (structured and binary publish),
checked with the official ``cloudevents`` SDK as the oracle."""

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http, to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from app.client import Connection
from app.schemas.cloudevents import parse_rfc3339, rfc3339
from tests.integration.hub_servers import ws_url
from tests.support import ADMIN_KEY

CE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
T0 = 1_764_680_400_123_456_789  # 2025-12-02T13:00:00.123456789Z


def _parse(response: httpx.Response) -> CloudEvent:
    message = HTTPMessage(headers=dict(response.headers), body=response.content)
    event = from_http(message, JSONFormat())
    assert isinstance(event, CloudEvent)
    return event


def _parse_batch(response: httpx.Response) -> list[CloudEvent]:
    assert response.headers["content-type"] == BATCH
    return [JSONFormat().read(CloudEvent, orjson.dumps(item)) for item in response.json()]


async def _publish(client: httpx.AsyncClient, chronicle: str, stream: str) -> list[str]:
    events = [
        {
            "type": "sensor/temp",
            "data": {"celsius": 21.5},
            "metadata": {"correlation_id": "c-1"},
            "source_timestamp": T0,
            "client_id": "probe-1",
        },
        {"type": "blob", "data_base64": base64.b64encode(b"\x00\xff").decode()},
    ]
    response = await client.post(
        f"/chronicles/{chronicle}/streams/{stream}/events", json={"events": events}
    )
    assert response.status_code == 201, response.text
    return [e["event_id"] for e in response.json()["events"]]


@pytest.fixture
async def conn(server: str) -> AsyncIterator[Connection]:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as c:
        yield c


def test_rfc3339_keeps_nanoseconds() -> None:
    assert rfc3339(T0) == "2025-12-02T13:00:00.123456789Z"
    assert parse_rfc3339("2025-12-02T13:00:00.123456789Z") == T0
    assert parse_rfc3339("2025-12-02T15:00:00.123456789+02:00") == T0
    assert parse_rfc3339("1970-01-01T00:00:00Z") == 0


async def test_get_one_event_as_a_cloudevent(client: httpx.AsyncClient, chronicle: str) -> None:
    ids = await _publish(client, chronicle, "room1")
    url = f"/chronicles/{chronicle}/streams/room1/events/0"
    response = await client.get(url, headers={"Accept": CE})
    assert response.status_code == 200 and response.headers["content-type"] == CE
    assert response.headers["etag"] == '"0"'
    event = _parse(response)
    assert event.get_id() == ids[0]
    assert event.get_source() == f"/chronicles/{chronicle}/streams/room1"
    assert event.get_type() == "sensor/temp"
    assert event.get_subject() == "room1"
    assert event.get_datacontenttype() == "application/json"
    assert event.get_time() == datetime(2025, 12, 2, 13, 0, 0, 123456, tzinfo=UTC)
    assert event.get_data() == {"celsius": 21.5}
    assert event.get_extension("chronicle") == chronicle
    assert event.get_extension("streamversion") == 0
    assert event.get_extension("clientid") == "probe-1"
    assert orjson.loads(event.get_extension("metadata")) == {"correlation_id": "c-1"}
    body = response.json()
    assert body["time"] == "2025-12-02T13:00:00.123456789Z"
    assert len(body["sequence"]) == 20 and body["sequence"].isdigit()
    recorded = (await client.get(url)).json()["recorded_at"]
    assert parse_rfc3339(body["recordedtime"]) == recorded
    assert (await client.get(url, params={"format": "cloudevents"})).json() == body


async def test_binary_event_is_data_base64_without_time(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    await _publish(client, chronicle, "room1")
    response = await client.get(
        f"/chronicles/{chronicle}/streams/room1/events/1", params={"format": "cloudevents"}
    )
    event = _parse(response)
    assert event.get_data() == b"\x00\xff"
    assert event.get_datacontenttype() == "application/octet-stream"
    assert "time" not in response.json() and "metadata" not in response.json()


async def test_pages_are_batches_with_the_cursor_in_a_header(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    await _publish(client, chronicle, "room1")
    stream = f"/chronicles/{chronicle}/streams/room1"
    first = await client.get(f"{stream}/events", params={"limit": 1}, headers={"Accept": BATCH})
    assert [e.get_extension("streamversion") for e in _parse_batch(first)] == [0]
    assert first.headers["chronicle-next"] == "1" and first.headers["etag"] == '"1"'
    second = await client.get(f"{stream}/events", params={"from": 1, "format": "cloudevents"})
    assert [e.get_extension("streamversion") for e in _parse_batch(second)] == [1]
    assert "chronicle-next" not in second.headers

    replay = await client.get(
        f"{stream}/replay", params={"start": 0, "end": 2**63 - 1, "format": "cloudevents"}
    )
    assert len(_parse_batch(replay)) == 2

    log = _parse_batch(
        await client.get("/events", params={"chronicle": chronicle}, headers={"Accept": BATCH})
    )
    sequences = [e.get_extension("sequence") for e in log]
    assert sequences == sorted(sequences) and len(log) == 2

    latest = await client.get(
        f"/chronicles/{chronicle}/query/latest", params={"format": "cloudevents"}
    )
    assert sorted(e.get_type() for e in _parse_batch(latest)) == ["blob", "sensor/temp"]
    assert latest.headers["chronicle-more-follows"] == "false"
    series = await client.get(
        f"/chronicles/{chronicle}/query/timeseries",
        params={"max_results": 1},
        headers={"Accept": BATCH},
    )
    assert len(_parse_batch(series)) == 1 and series.headers["chronicle-more-follows"] == "true"


async def test_default_json_is_unchanged(client: httpx.AsyncClient, chronicle: str) -> None:
    await _publish(client, chronicle, "room1")
    response = await client.get(f"/chronicles/{chronicle}/streams/room1/events")
    assert response.headers["content-type"] == "application/json"
    assert response.json()["next"] is None and len(response.json()["events"]) == 2
    bad = await client.get(
        f"/chronicles/{chronicle}/streams/room1/events", params={"format": "xml"}
    )
    assert bad.status_code == 422


async def test_publish_sdk_structured_event_round_trips(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    sent = CloudEvent(
        attributes={
            "id": str(uuid.uuid4()),
            "source": "/sensors/lab",
            "type": "sensor/temp",
            "time": datetime(2025, 12, 2, 13, 0, 0, 500000, tzinfo=UTC),
            "datacontenttype": "application/json",
            "site": "lab-1",
            "priority": 3,
        },
        data={"celsius": 19.0},
    )
    message = to_structured(sent, JSONFormat())
    stream = f"/chronicles/{chronicle}/streams/s"
    response = await client.post(f"{stream}/events", headers=message.headers, content=message.body)
    assert response.status_code == 201, response.text
    assert response.json()["events"][0]["event_id"] == sent.get_id()

    stored = (await client.get(f"{stream}/events/0")).json()
    assert stored["type"] == "sensor/temp" and stored["data"] == {"celsius": 19.0}
    assert stored["source_timestamp"] == parse_rfc3339("2025-12-02T13:00:00.5Z")
    assert stored["metadata"] == {"site": "lab-1", "priority": 3, "source": "/sensors/lab"}

    back = _parse(await client.get(f"{stream}/events/0", headers={"Accept": CE}))
    assert back.get_id() == sent.get_id() and back.get_time() == sent.get_time()
    assert back.get_data() == sent.get_data()

    repeat = await client.post(f"{stream}/events", headers=message.headers, content=message.body)
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True


async def test_publish_sdk_binary_events(client: httpx.AsyncClient, chronicle: str) -> None:
    stream = f"/chronicles/{chronicle}/streams/b"
    json_event = CloudEvent(
        attributes={"source": "/x", "type": "t/json", "datacontenttype": "application/json"},
        data={"a": 1},
    )
    message = to_binary(json_event, JSONFormat())
    response = await client.post(
        f"{stream}/events",
        params={"expected_version": "no_stream"},
        headers=message.headers,
        content=message.body,
    )
    assert response.status_code == 201, response.text

    raw = CloudEvent(
        attributes={
            "source": "/x",
            "type": "t/raw",
            "datacontenttype": "image/png",
            "id": "not-a-uuid",
        },
        data=b"\x89PNG\x00",
    )
    message = to_binary(raw, JSONFormat())
    response = await client.post(
        f"{stream}/events",
        params={"expected_version": 0},
        headers=message.headers,
        content=message.body,
    )
    assert response.status_code == 201, response.text
    stored = (await client.get(f"{stream}/events/1")).json()
    assert base64.b64decode(stored["data_base64"]) == b"\x89PNG\x00"
    assert stored["content_type"] == "image/png"
    assert stored["metadata"] == {"id": "not-a-uuid", "source": "/x"}
    first = (await client.get(f"{stream}/events/0")).json()
    assert first["data"] == {"a": 1} and first["event_id"] == json_event.get_id()

    conflict = await client.post(
        f"{stream}/events",
        params={"expected_version": 0},
        headers=message.headers,
        content=message.body,
    )
    assert conflict.status_code == 200  # the same CloudEvent again: an idempotent repeat
    stale = to_binary(CloudEvent(attributes={"source": "/x", "type": "t"}), JSONFormat())
    wrong = await client.post(
        f"{stream}/events",
        params={"expected_version": 0},
        headers=stale.headers,
        content=stale.body,
    )
    assert wrong.status_code == 409 and wrong.json()["code"] == "wrong_expected_version"


async def test_text_round_trips_as_a_string(client: httpx.AsyncClient, chronicle: str) -> None:
    sent = CloudEvent(
        attributes={"source": "/x", "type": "note", "datacontenttype": "text/plain"},
        data="héllo",
    )
    message = to_structured(sent, JSONFormat())
    stream = f"/chronicles/{chronicle}/streams/text"
    response = await client.post(f"{stream}/events", headers=message.headers, content=message.body)
    assert response.status_code == 201, response.text
    stored = (await client.get(f"{stream}/events/0")).json()
    assert base64.b64decode(stored["data_base64"]) == "héllo".encode()
    back = _parse(await client.get(f"{stream}/events/0", headers={"Accept": CE}))
    assert back.get_data() == "héllo" and back.get_datacontenttype() == "text/plain"


async def test_publish_batch_and_read_it_back(client: httpx.AsyncClient, chronicle: str) -> None:
    events = [
        orjson.loads(
            to_structured(
                CloudEvent(attributes={"source": "/x", "type": f"t{i}"}, data={"i": i}),
                JSONFormat(),
            ).body
        )
        for i in range(3)
    ]
    stream = f"/chronicles/{chronicle}/streams/batch"
    response = await client.post(
        f"{stream}/events", headers={"Content-Type": BATCH}, content=orjson.dumps(events)
    )
    assert response.status_code == 201, response.text
    assert response.json()["stream_version"] == 2
    read = _parse_batch(await client.get(f"{stream}/events", params={"format": "cloudevents"}))
    assert [e.get_id() for e in read] == [e["id"] for e in events]
    assert [e.get_data() for e in read] == [{"i": i} for i in range(3)]

    # What Chronicle writes maps back to the same events: publishing it again is a repeat.
    again = await client.post(
        f"{stream}/events",
        headers={"Content-Type": BATCH},
        content=(await client.get(f"{stream}/events", headers={"Accept": BATCH})).content,
    )
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True


BAD: list[tuple[str, Any, str]] = [
    (CE, b"{not json", "malformed_json"),
    (CE, {"specversion": "0.3", "id": "1", "source": "/x", "type": "t"}, "invalid_cloudevent"),
    (CE, {"specversion": "1.0", "source": "/x", "type": "t"}, "invalid_cloudevent"),
    (CE, {"specversion": "1.0", "id": "1", "source": "/x", "type": ""}, "invalid_cloudevent"),
    (CE, {"specversion": "1.0", "id": "1", "source": "/x", "type": "a//b"}, "invalid_cloudevent"),
    (
        CE,
        {"specversion": "1.0", "id": "1", "source": "/x", "type": "t", "time": "yesterday"},
        "invalid_cloudevent",
    ),
    (
        CE,
        {"specversion": "1.0", "id": "1", "source": "/x", "type": "t", "Bad_Name": "v"},
        "invalid_cloudevent",
    ),
    (
        CE,
        {"specversion": "1.0", "id": "1", "source": "/x", "type": "t", "ext": {"a": 1}},
        "invalid_cloudevent",
    ),
    (
        CE,
        {
            "specversion": "1.0",
            "id": "1",
            "source": "/x",
            "type": "t",
            "data": 1,
            "data_base64": "AA==",
        },
        "invalid_cloudevent",
    ),
    (BATCH, [], "invalid_cloudevent"),
    (BATCH, [{"specversion": "1.0", "id": "1", "source": "/x"}], "invalid_cloudevent"),
]


@pytest.mark.parametrize(("content_type", "body", "code"), BAD)
async def test_bad_cloudevents_are_rejected_and_nothing_is_written(
    client: httpx.AsyncClient, chronicle: str, content_type: str, body: Any, code: str
) -> None:
    stream = f"/chronicles/{chronicle}/streams/bad"
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    response = await client.post(
        f"{stream}/events", headers={"Content-Type": content_type}, content=content
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert (await client.get(f"{stream}/events")).status_code == 404


async def test_bad_binary_mode_and_misplaced_expected_version(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    stream = f"/chronicles/{chronicle}/streams/bad"
    no_type = await client.post(
        f"{stream}/events",
        headers={"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/x"},
        content=b"{}",
    )
    assert no_type.status_code == 422 and no_type.json()["code"] == "invalid_cloudevent"
    not_json = await client.post(
        f"{stream}/events",
        headers={
            "ce-specversion": "1.0",
            "ce-id": "1",
            "ce-source": "/x",
            "ce-type": "t",
            "Content-Type": "application/json",
        },
        content=b"{oops",
    )
    assert not_json.status_code == 400 and not_json.json()["code"] == "malformed_json"
    json_body = await client.post(
        f"{stream}/events",
        params={"expected_version": "any"},
        json={"events": [{"type": "t"}]},
    )
    assert json_body.status_code == 422 and json_body.json()["code"] == "invalid_input"
    assert (await client.get(f"{stream}/events")).status_code == 404


async def test_websocket_calls_answer_cloudevents(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    ids = await _publish(client, chronicle, "ws")
    ref = {"chronicle": chronicle, "stream": "ws", "format": "cloudevents"}

    def parsed(body: dict[str, Any]) -> CloudEvent:
        return JSONFormat().read(CloudEvent, orjson.dumps(body))

    one = parsed(await conn.call("get_event", {**ref, "version": 0}))
    assert one.get_id() == ids[0] and one.get_data() == {"celsius": 21.5}

    read = [parsed(d) async for d in await conn.start("read", ref)]
    assert [e.get_id() for e in read] == ids
    replay = [
        parsed(d) async for d in await conn.start("replay", {**ref, "start": 0, "end": 2**63 - 1})
    ]
    assert [e.get_id() for e in replay] == ids

    result = await conn.call(
        "query", {"chronicle": chronicle, "kind": "latest", "format": "cloudevents"}
    )
    assert sorted(parsed(e).get_type() for e in result["events"]) == ["blob", "sensor/temp"]

    subscription = await conn.start("subscribe", {**ref, "start": "start"})
    seen: list[CloudEvent] = []
    async for data in subscription:
        if data["kind"] == "event":
            seen.append(parsed(data["event"]))
        if data["kind"] == "caught_up":
            break
    await subscription.send({"stop": True})
    assert [e.get_id() for e in seen] == ids
    assert seen[1].get_data() == b"\x00\xff"

    plain = await conn.call("get_event", {**ref, "version": 0, "format": "json"})
    assert plain["event_id"] == ids[0]
