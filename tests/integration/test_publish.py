"""Publishing over REST: expected version, atomicity, idempotency, payloads, limits."""

import asyncio
import base64
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_LIMITS
from tests.integration.test_chronicles import assert_problem


def events_url(chronicle: str, stream: str = "s") -> str:
    return f"/chronicles/{chronicle}/streams/{stream}/events"


async def publish(
    client: httpx.AsyncClient,
    chronicle: str,
    events: list[dict[str, Any]],
    stream: str = "s",
    expected: object = "any",
) -> httpx.Response:
    return await client.post(
        events_url(chronicle, stream), json={"events": events, "expected_version": expected}
    )


async def stream_version(
    client: httpx.AsyncClient, chronicle: str, stream: str = "s"
) -> int | None:
    info = await client.get(f"/chronicles/{chronicle}/streams/{stream}")
    return info.json()["version"] if info.status_code == 200 else None


async def test_publish_assigns_consecutive_versions(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    first = await publish(client, chronicle, [{"type": "a", "data": {"n": 1}}])
    assert first.status_code == 201
    assert first.json()["stream_version"] == 0 and first.json()["duplicate"] is False
    batch = await publish(client, chronicle, [{"type": "a", "data": i} for i in range(3)])
    written = batch.json()["events"]
    assert [e["version"] for e in written] == [1, 2, 3]
    positions = [e["position"] for e in written]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert positions[0] > first.json()["events"][0]["position"]
    stamps = [e["recorded_at"] for e in [first.json()["events"][0], *written]]
    assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False)), stamps


@pytest.mark.parametrize(
    ("state", "expected", "ok"),
    [
        ("missing", "no_stream", True),
        ("missing", "any", True),
        ("missing", "exists", False),
        ("missing", "empty", False),
        ("missing", 0, False),
        ("empty", "no_stream", False),
        ("empty", "exists", True),
        ("empty", "empty", True),
        ("empty", 0, False),
        ("one", "no_stream", False),
        ("one", "exists", True),
        ("one", "empty", False),
        ("one", 0, True),
        ("one", 1, False),
        ("one", "any", True),
    ],
)
async def test_expected_version_matrix(
    client: httpx.AsyncClient, chronicle: str, state: str, expected: object, ok: bool
) -> None:
    if state in ("empty", "one"):
        await client.put(f"/chronicles/{chronicle}/streams/s")
    if state == "one":
        await publish(client, chronicle, [{"type": "first"}])
    before = await stream_version(client, chronicle)

    response = await publish(client, chronicle, [{"type": "x"}], expected=expected)
    if ok:
        assert response.status_code == 201, response.text
        assert await stream_version(client, chronicle) == (before if before is not None else -1) + 1
    else:
        body = assert_problem(response, 409, "wrong_expected_version")
        assert body["details"] == {
            "chronicle": chronicle,
            "stream": "s",
            "expected": expected,
            "actual": before,
        }
        assert await stream_version(client, chronicle) == before


async def test_concurrent_exact_versions_one_winner_each(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    await client.put(f"/chronicles/{chronicle}/streams/hot")
    results = await asyncio.gather(
        *(publish(client, chronicle, [{"type": "w", "data": i}], "hot", "empty") for i in range(10))
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 9
    page = (await client.get(events_url(chronicle, "hot"))).json()
    assert [e["version"] for e in page["events"]] == [0]


async def test_batch_is_atomic(client: httpx.AsyncClient, chronicle: str) -> None:
    good = {"type": "ok", "data": 1}
    bad_type = {"type": "a//b", "data": 2}
    assert_problem(await publish(client, chronicle, [good, bad_type]), 422, "validation_error")
    assert await stream_version(client, chronicle) is None
    # A conflict on an id used in another stream rolls back the whole batch, stream included.
    other = str(uuid.uuid4())
    await publish(client, chronicle, [{"event_id": other, "type": "t"}], stream="other")
    response = await publish(client, chronicle, [good, {"event_id": other, "type": "t"}])
    assert_problem(response, 409, "event_id_reused")
    assert await stream_version(client, chronicle) is None


async def test_idempotent_republish(client: httpx.AsyncClient, chronicle: str) -> None:
    batch = [{"event_id": str(uuid.uuid4()), "type": "t", "data": {"i": i}} for i in range(3)]
    first = await publish(client, chronicle, batch, expected="no_stream")
    assert first.status_code == 201
    await publish(client, chronicle, [{"type": "later"}])

    again = await publish(client, chronicle, batch, expected="no_stream")
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["events"] == first.json()["events"]
    assert await stream_version(client, chronicle) == 3

    # A prefix of the same batch is also a repeat.
    assert (await publish(client, chronicle, batch[:2])).json()["events"] == first.json()["events"][
        :2
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda b: [{**b[0], "data": {"i": 99}}, *b[1:]],  # same id, other content
        lambda b: [b[1], b[0]],  # other order
        lambda b: [*b, {"event_id": str(uuid.uuid4()), "type": "t"}],  # old ids plus a new one
        lambda b: [b[0], b[0]],  # one id twice
    ],
    ids=["content", "order", "partial", "twice"],
)
async def test_reused_ids_are_rejected(
    client: httpx.AsyncClient, chronicle: str, change: Any
) -> None:
    batch = [{"event_id": str(uuid.uuid4()), "type": "t", "data": {"i": i}} for i in range(2)]
    await publish(client, chronicle, batch)
    assert_problem(await publish(client, chronicle, change(batch)), 409, "event_id_reused")
    assert await stream_version(client, chronicle) == 1


async def test_json_binary_and_optional_fields_round_trip(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    raw = bytes(range(256))
    response = await publish(
        client,
        chronicle,
        [
            {
                "type": "sensor/temp/room1",
                "data": {"celsius": 21.5, "tags": ["a"], "nested": {"x": None}},
                "metadata": {"correlation_id": "c-1"},
                "source_timestamp": 1_700_000_000_123_456_789,
                "client_id": "writer-7",
            },
            {
                "type": "blob",
                "data_base64": base64.b64encode(raw).decode(),
                "content_type": "application/octet-stream",
            },
            {"type": "null-data", "data": None},
        ],
    )
    assert response.status_code == 201, response.text
    page = (await client.get(events_url(chronicle))).json()["events"]
    json_event, binary_event, null_event = page
    assert json_event["data"] == {"celsius": 21.5, "tags": ["a"], "nested": {"x": None}}
    assert json_event["metadata"] == {"correlation_id": "c-1"}
    assert json_event["source_timestamp"] == 1_700_000_000_123_456_789
    assert json_event["client_id"] == "writer-7"
    assert json_event["content_type"] == "application/json"
    assert base64.b64decode(binary_event["data_base64"]) == raw
    assert binary_event["data"] is None
    assert binary_event["content_type"] == "application/octet-stream"
    assert null_event["data"] is None and null_event["data_base64"] is None


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"type": "t", "data_base64": "not base64!"}, "validation_error"),
        ({"type": "t", "data_base64": "QUJD="}, "validation_error"),
        ({"type": "t", "data": 1, "data_base64": "AA=="}, "validation_error"),
        ({"type": "a/?/b"}, "validation_error"),
        ({"type": "/a"}, "validation_error"),
        ({"type": "a/*"}, "validation_error"),
        ({"type": 5}, "validation_error"),
        ({"data": 1}, "validation_error"),
        ({"type": "t", "metadata": [1]}, "validation_error"),
        ({"type": "t", "source_timestamp": -1}, "validation_error"),
        ({"type": "t", "source_timestamp": "12"}, "validation_error"),
        ({"type": "t", "event_id": "nope"}, "validation_error"),
        ({"type": "t", "surprise": 1}, "validation_error"),
        ({"type": "t", "data": 2**70}, "invalid_input"),
    ],
)
async def test_bad_events_write_nothing(
    client: httpx.AsyncClient, chronicle: str, event: dict[str, Any], code: str
) -> None:
    response = await publish(client, chronicle, [event])
    assert_problem(response, 422, code)
    assert await stream_version(client, chronicle) is None


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": {}},
        {"events": [{"type": "t"}], "expected_version": -1},
        {"events": [{"type": "t"}], "expected_version": "latest"},
        {"events": [{"type": "t"}], "expected_version": "3"},
        {"events": [{"type": "t"}], "expected_version": 1.5},
        {"events": [{"type": "t"}], "expected_version": True},
        {},
    ],
)
async def test_bad_publish_bodies(client: httpx.AsyncClient, chronicle: str, body: object) -> None:
    response = await client.post(events_url(chronicle), json=body)
    assert_problem(response, 422, "validation_error")
    assert await stream_version(client, chronicle) is None


async def test_unknown_chronicle(client: httpx.AsyncClient) -> None:
    response = await publish(client, "no-such-chronicle-x", [{"type": "t"}])
    assert_problem(response, 404, "chronicle_not_found")


async def test_size_limits(client: httpx.AsyncClient, chronicle: str) -> None:
    big = "x" * TEST_LIMITS["max_event_bytes"]
    body = assert_problem(
        await publish(client, chronicle, [{"type": "t"}, {"type": "t", "data": big}]),
        413,
        "event_too_large",
    )
    assert body["details"]["index"] == 1
    too_many = [{"type": "t"}] * (TEST_LIMITS["max_events_per_publish"] + 1)
    assert_problem(await publish(client, chronicle, too_many), 413, "batch_too_large")
    huge = "x" * (TEST_LIMITS["max_request_bytes"] + 1)
    assert_problem(
        await publish(client, chronicle, [{"type": "t", "data": huge}]), 413, "too_large"
    )

    async def chunks() -> Any:  # no Content-Length: the limit holds while streaming too
        for _ in range(3):
            yield b"x" * (TEST_LIMITS["max_request_bytes"] // 2)

    streamed = await client.post(
        events_url(chronicle), content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(streamed, 413, "too_large")
    assert await stream_version(client, chronicle) is None


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"type": "t", "data": "nul \u0000 inside"}, "invalid_input"),
        ({"type": "t", "metadata": {"k": "\u0000"}}, "invalid_input"),
        ({"type": "t", "client_id": "a\u0000b"}, "validation_error"),
        ({"type": "t\u0000"}, "validation_error"),
    ],
)
async def test_values_postgres_cannot_store(
    client: httpx.AsyncClient, chronicle: str, event: dict[str, Any], code: str
) -> None:
    assert_problem(await publish(client, chronicle, [event]), 422, code)
    assert await stream_version(client, chronicle) is None


async def test_unpaired_surrogate_is_refused(client: httpx.AsyncClient, chronicle: str) -> None:
    body = b'{"events": [{"type": "t", "data": "\\ud800"}]}'
    response = await client.post(
        events_url(chronicle), content=body, headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "invalid_input")
    assert await stream_version(client, chronicle) is None


async def test_integral_floats_count_as_integers(client: httpx.AsyncClient, chronicle: str) -> None:
    response = await publish(
        client, chronicle, [{"type": "t", "source_timestamp": 5.0}], expected="no_stream"
    )
    assert response.status_code == 201, response.text
    assert (await client.get(f"{events_url(chronicle)}/0")).json()["source_timestamp"] == 5
    response = await publish(client, chronicle, [{"type": "t"}], expected=0.0)
    assert response.status_code == 201, response.text
