"""Every unary, server- and client-streaming hub method over a real WebSocket, with the
same rules and error codes as REST."""

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.client import CallError, Connection
from tests.integration.hub_servers import ws_url
from tests.support import ADMIN_KEY, fresh_name


@pytest.fixture
async def conn(server: str) -> AsyncIterator[Connection]:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as c:
        yield c


async def _error(conn: Connection, method: str, params: dict) -> CallError:
    with pytest.raises(CallError) as caught:
        await conn.call(method, params)
    return caught.value


async def test_ping_method_and_frame(conn: Connection) -> None:
    result = await conn.call("ping")
    assert result["pong"] is True and result["server_time"] > 0
    assert 0 < await conn.ping() < 5


async def test_chronicle_methods(conn: Connection) -> None:
    name = fresh_name("ws")
    created = await conn.call("create_chronicle", {"name": name, "attributes": {"a": 1}})
    assert created["name"] == name and created["attributes"] == {"a": 1}
    assert (await _error(conn, "create_chronicle", {"name": name})).code == "chronicle_exists"
    assert (await conn.call("get_chronicle", {"name": name}))["attributes"] == {"a": 1}
    page = await conn.call("list_chronicles", {"after": name[:-1], "limit": 1000})
    assert name in [c["name"] for c in page["items"]]
    assert await conn.call("delete_chronicle", {"name": name}) == {"deleted": True}
    missing = await _error(conn, "get_chronicle", {"name": name})
    assert missing.code == "chronicle_not_found"
    bad = await _error(conn, "create_chronicle", {"name": "no spaces"})
    assert bad.code == "validation_error"


async def test_stream_methods(conn: Connection, chronicle: str) -> None:
    acquired = await conn.call(
        "acquire_stream", {"chronicle": chronicle, "stream": "s1", "attributes": {"k": "v"}}
    )
    assert acquired["created"] is True and acquired["stream"]["version"] == -1
    again = await conn.call("acquire_stream", {"chronicle": chronicle, "stream": "s1"})
    assert again["created"] is False and again["stream"]["attributes"] == {"k": "v"}
    info = await conn.call("get_stream", {"chronicle": chronicle, "stream": "s1"})
    assert info["event_count"] == 0
    listed = await conn.call("list_streams", {"chronicle": chronicle})
    assert [s["name"] for s in listed["items"]] == ["s1"]
    assert await conn.call("delete_stream", {"chronicle": chronicle, "stream": "s1"})
    gone = await _error(conn, "get_stream", {"chronicle": chronicle, "stream": "s1"})
    assert gone.code == "stream_not_found"
    nowhere = await _error(conn, "list_streams", {"chronicle": fresh_name("none")})
    assert nowhere.code == "chronicle_not_found"


async def test_publish_expected_version_idempotency_and_get_event(
    conn: Connection, chronicle: str
) -> None:
    event_id = str(uuid.uuid4())
    first = await conn.publish_event(
        chronicle,
        "orders",
        "order/created",
        {"n": 1},
        expected_version="no_stream",
        event_id=event_id,
    )
    assert first["stream_version"] == 0 and first["duplicate"] is False
    repeat = await conn.publish_event(
        chronicle, "orders", "order/created", {"n": 1}, event_id=event_id
    )
    assert repeat["duplicate"] is True and repeat["events"] == first["events"]
    with pytest.raises(CallError) as conflict:
        await conn.publish_event(chronicle, "orders", "order/paid", {}, expected_version=5)
    assert conflict.value.code == "wrong_expected_version"
    assert conflict.value.details["actual"] == 0 and conflict.value.details["expected"] == 5
    await conn.publish_event(chronicle, "orders", "order/paid", {"n": 2}, expected_version=0)
    event = await conn.get_event(chronicle, "orders", 1)
    assert event["type"] == "order/paid" and event["data"] == {"n": 2} and event["version"] == 1
    missing = await _error(
        conn, "get_event", {"chronicle": chronicle, "stream": "orders", "version": 9}
    )
    assert missing.code == "event_not_found"
    bad_type = await _error(
        conn,
        "publish",
        {"chronicle": chronicle, "stream": "orders", "events": [{"type": "a//b"}]},
    )
    assert bad_type.code == "validation_error"  # as over REST
    too_many = await _error(
        conn,
        "publish",
        {"chronicle": chronicle, "stream": "orders", "events": [{"type": "t"}] * 51},
    )
    assert too_many.code == "batch_too_large"


async def test_read_streams_events_then_ends_with_next(conn: Connection, chronicle: str) -> None:
    await conn.call(
        "publish",
        {
            "chronicle": chronicle,
            "stream": "s",
            "events": [{"type": "t", "data": i} for i in range(5)],
        },
    )
    call = await conn.start("read", {"chronicle": chronicle, "stream": "s", "from": 1, "count": 3})
    assert [e["data"] for e in [e async for e in call]] == [1, 2, 3]
    assert (await call.result())["next"] == 4

    backwards = await conn.start(
        "read", {"chronicle": chronicle, "stream": "s", "direction": "backwards"}
    )
    assert [e["version"] async for e in backwards] == [4, 3, 2, 1, 0]

    everything = await conn.start("read", {"chronicle": chronicle})
    events = [e async for e in everything]
    assert [e["data"] for e in events] == [0, 1, 2, 3, 4]
    assert (await everything.result())["next"] == events[-1]["position"] + 1

    with pytest.raises(CallError) as missing:
        await (await conn.start("read", {"chronicle": chronicle, "stream": "nope"})).result()
    assert missing.value.code == "stream_not_found"


async def test_replay_time_range(conn: Connection, chronicle: str) -> None:
    await conn.call(
        "publish",
        {
            "chronicle": chronicle,
            "stream": "s",
            "events": [{"type": "t", "data": i} for i in range(4)],
        },
    )
    stamps = []
    async for e in await conn.start("read", {"chronicle": chronicle, "stream": "s"}):
        stamps.append(e["recorded_at"])
    call = await conn.start(
        "replay", {"chronicle": chronicle, "stream": "s", "start": stamps[1], "end": stamps[2]}
    )
    assert [e["data"] async for e in call] == [1, 2]
    assert await call.result() == {"count": 2}
    bad = await conn.start(
        "replay", {"chronicle": chronicle, "stream": "s", "start": stamps[2], "end": stamps[1]}
    )
    with pytest.raises(CallError) as caught:
        await bad.result()
    assert caught.value.code == "invalid_range"


async def test_append_client_streaming(conn: Connection, chronicle: str) -> None:
    call = await conn.start(
        "append", {"chronicle": chronicle, "stream": "s", "expected_version": "no_stream"}
    )
    await call.send({"type": "a", "data": 1})
    await call.send({"events": [{"type": "b", "data": 2}, {"type": "c", "data": 3}]})
    await call.end()
    result = await call.result()
    assert [e["version"] for e in result["events"]] == [0, 1, 2]
    assert call.acks == 3  # two sends and the end
    info = await conn.call("get_stream", {"chronicle": chronicle, "stream": "s"})
    assert info["version"] == 2

    # the expected version is checked at end: nothing is written on a conflict
    stale = await conn.start(
        "append", {"chronicle": chronicle, "stream": "s", "expected_version": 0}
    )
    await stale.send({"type": "d"})
    await stale.end()
    with pytest.raises(CallError) as conflict:
        await stale.result()
    assert conflict.value.code == "wrong_expected_version"

    bad = await conn.start("append", {"chronicle": chronicle, "stream": "s"})
    await bad.send({"no_type": True})
    with pytest.raises(CallError) as invalid:
        await bad.result()
    assert invalid.value.code == "validation_error"

    empty = await conn.start("append", {"chronicle": chronicle, "stream": "s"})
    await empty.end()
    with pytest.raises(CallError):
        await empty.result()
    info = await conn.call("get_stream", {"chronicle": chronicle, "stream": "s"})
    assert info["version"] == 2


async def test_many_calls_at_once_on_one_connection(conn: Connection, chronicle: str) -> None:
    import asyncio

    results = await asyncio.gather(
        *(conn.publish_event(chronicle, f"s{i % 3}", "t", i) for i in range(30))
    )
    assert len({r["events"][0]["position"] for r in results}) == 30
    assert time.time_ns() > 0


async def test_prometheus_metrics_count_the_hub(
    conn: Connection, client: httpx.AsyncClient
) -> None:
    await conn.call("ping")
    text = (await client.get("/metrics")).text
    assert 'chronicle_ws_calls_total{method="ping",outcome="ok"}' in text
    connections = [
        line for line in text.splitlines() if line.startswith("chronicle_ws_connections ")
    ]
    assert connections and float(connections[0].split()[1]) >= 1


async def test_query_method_matches_rest(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    for stream, event_type, value in [
        ("a", "sensor/temp/room1", 1),
        ("a", "sensor/temp/room1", 2),
        ("b", "sensor/humidity/room1", 3),
        ("b", "alarm/room1", 4),
    ]:
        await conn.publish_event(chronicle, stream, event_type, value)
    latest = await conn.call(
        "query", {"chronicle": chronicle, "kind": "latest", "types": ["sensor/*"]}
    )
    assert [(e["type"], e["data"]) for e in latest["events"]] == [
        ("sensor/humidity/room1", 3),
        ("sensor/temp/room1", 2),
    ]
    rest = await client.get(f"/chronicles/{chronicle}/query/latest", params={"types": "sensor/*"})
    assert rest.json() == latest

    first = await conn.call(
        "query",
        {
            "chronicle": chronicle,
            "kind": "timeseries",
            "types": ["?/?/room1"],
            "order": "ascending",
            "max_results": 2,
        },
    )
    assert [e["data"] for e in first["events"]] == [1, 2] and first["more_follows"] is True
    rest_page = await conn.call(
        "query",
        {
            "chronicle": chronicle,
            "kind": "timeseries",
            "types": ["?/?/room1"],
            "order": "ascending",
            "after": first["events"][-1]["event_id"],
        },
    )
    assert [e["data"] for e in rest_page["events"]] == [3] and rest_page["more_follows"] is False

    bad = {"chronicle": chronicle, "kind": "latest", "types": ["a/*/b"]}
    assert (await _error(conn, "query", bad)).code == "invalid_pattern"
    inverted = {"chronicle": chronicle, "kind": "timeseries", "t_from": 5, "t_to": 1}
    assert (await _error(conn, "query", inverted)).code == "invalid_range"
    unknown = {"chronicle": chronicle, "kind": "newest"}
    assert (await _error(conn, "query", unknown)).code == "validation_error"
    missing = {"chronicle": "no-such-chronicle-q", "kind": "latest"}
    assert (await _error(conn, "query", missing)).code == "chronicle_not_found"
