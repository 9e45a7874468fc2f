"""Stream retention over REST and WebSocket: max_count, max_age and truncate_before hide
events from every read path at once; the scavenger then removes them from the events
table without touching positions, versions or live subscriptions."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import structlog
from pydantic import SecretStr

from app.client import CallError, Connection
from app.config import Settings
from app.storage.retention import Scavenger
from tests.conftest import TEST_LIMITS
from tests.integration.hub_servers import serve, ws_url
from tests.integration.test_chronicles import assert_problem
from tests.support import ADMIN_KEY, AUTH, TIMEOUT, wait_for

ALL_TIME = {"start": 0, "end": 2**63 - 1}


@pytest.fixture
async def conn(server: str) -> AsyncIterator[Connection]:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as c:
        yield c


async def publish(
    client: httpx.AsyncClient, chronicle: str, stream: str, *types: str
) -> list[dict[str, Any]]:
    response = await client.post(
        f"/chronicles/{chronicle}/streams/{stream}/events",
        json={"events": [{"type": t, "data": i} for i, t in enumerate(types)]},
    )
    assert response.status_code == 201, response.text
    written: list[dict[str, Any]] = response.json()["events"]
    return written


async def set_metadata(
    client: httpx.AsyncClient, chronicle: str, stream: str, **metadata: int | None
) -> dict[str, Any]:
    response = await client.put(f"/chronicles/{chronicle}/streams/{stream}/metadata", json=metadata)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _ws_call_events(conn: Connection, method: str, params: dict[str, Any]) -> list[int]:
    versions = []
    async with asyncio.timeout(TIMEOUT):
        async for event in await conn.start(method, params):
            versions.append(event["version"])
    return versions


async def _subscription_history(
    conn: Connection, params: dict[str, Any], stream: str = "s"
) -> list[int]:
    """Versions of ``stream`` a catch-up subscription delivers before it is caught up."""
    call = await conn.start("subscribe", params)
    versions = []
    async with asyncio.timeout(TIMEOUT):
        async for data in call:
            if data["kind"] == "event" and data["event"]["stream"] == stream:
                versions.append(data["event"]["version"])
            if data["kind"] == "caught_up":
                break
    await call.send({"stop": True})
    await call.result()
    return versions


async def visible_versions(
    client: httpx.AsyncClient, conn: Connection, chronicle: str, stream: str
) -> dict[str, list[int]]:
    """The versions of ``stream`` that each read path returns, by path."""
    base = f"/chronicles/{chronicle}/streams/{stream}"
    info = (await client.get(base)).json()
    paths: dict[str, list[int]] = {}

    def versions(events: list[dict[str, Any]]) -> list[int]:
        return [e["version"] for e in events if e["stream"] == stream]

    page = await client.get(f"{base}/events", params={"limit": 1000})
    paths["read"] = versions(page.json()["events"])
    back = await client.get(f"{base}/events", params={"limit": 1000, "direction": "backwards"})
    paths["read_backwards"] = versions(back.json()["events"])[::-1]
    paths["replay"] = versions(
        (await client.get(f"{base}/replay", params=ALL_TIME)).json()["events"]
    )
    for name, extra in (("log", {}), ("log_typed", {"types": "*"})):
        log = await client.get("/events", params={"chronicle": chronicle, "limit": 1000, **extra})
        paths[name] = versions(log.json()["events"])
    series = await client.get(
        f"/chronicles/{chronicle}/query/timeseries",
        params={"order": "ascending", "max_results": 1000},
    )
    paths["timeseries"] = versions(series.json()["events"])
    paths["get_event"] = [
        v
        for v in range(info["version"] + 1)
        if (await client.get(f"{base}/events/{v}")).status_code == 200
    ]
    paths["event_count"] = list(
        range(info["version"] + 1 - info["event_count"], info["version"] + 1)
    )
    paths["ws_read"] = await _ws_call_events(
        conn, "read", {"chronicle": chronicle, "stream": stream}
    )
    paths["ws_replay"] = await _ws_call_events(
        conn, "replay", {"chronicle": chronicle, "stream": stream, **ALL_TIME}
    )
    ref = {"chronicle": chronicle, "start": "start"}
    paths["subscribe_stream"] = await _subscription_history(conn, {**ref, "stream": stream}, stream)
    paths["subscribe_chronicle"] = await _subscription_history(
        conn, {**ref, "types": ["*"]}, stream
    )
    return paths


def assert_everywhere(paths: dict[str, list[int]], expected: list[int]) -> None:
    wrong = {path: got for path, got in paths.items() if got != expected}
    assert not wrong, f"expected versions {expected}, these paths differ: {wrong}"


async def latest_types(client: httpx.AsyncClient, chronicle: str) -> dict[str, tuple[str, int]]:
    """type -> (stream, version) of the latest-per-type query."""
    events = (await client.get(f"/chronicles/{chronicle}/query/latest")).json()["events"]
    return {e["type"]: (e["stream"], e["version"]) for e in events}


async def test_max_count_hides_old_events_from_every_read_path(
    client: httpx.AsyncClient, conn: Connection, chronicle: str
) -> None:
    written = await publish(client, chronicle, "s", "a", "b", "a", "b", "c")
    assert_everywhere(await visible_versions(client, conn, chronicle, "s"), [0, 1, 2, 3, 4])

    assert await set_metadata(client, chronicle, "s", max_count=2) == {
        "max_count": 2,
        "max_age": None,
        "truncate_before": None,
    }
    assert_everywhere(await visible_versions(client, conn, chronicle, "s"), [3, 4])
    info = (await client.get(f"/chronicles/{chronicle}/streams/s")).json()
    assert info["version"] == 4 and info["event_count"] == 2
    assert info["first_recorded_at"] == written[3]["recorded_at"]
    assert info["last_recorded_at"] == written[4]["recorded_at"]
    assert info["metadata"]["max_count"] == 2
    assert await latest_types(client, chronicle) == {"b": ("s", 3), "c": ("s", 4)}

    # The newest events count: a publish moves the window on at once.
    await publish(client, chronicle, "s", "d")
    assert_everywhere(await visible_versions(client, conn, chronicle, "s"), [4, 5])


async def test_truncate_before_and_loosening(
    client: httpx.AsyncClient, conn: Connection, chronicle: str
) -> None:
    await publish(client, chronicle, "s", "a", "b", "c", "d")
    await set_metadata(client, chronicle, "s", truncate_before=3)
    assert_everywhere(await visible_versions(client, conn, chronicle, "s"), [3])
    assert await latest_types(client, chronicle) == {"d": ("s", 3)}
    # Beyond the last version: nothing is visible, and the version is still the stream's.
    await set_metadata(client, chronicle, "s", truncate_before=10)
    assert_everywhere(await visible_versions(client, conn, chronicle, "s"), [])
    info = (await client.get(f"/chronicles/{chronicle}/streams/s")).json()
    assert info["version"] == 3 and info["event_count"] == 0
    assert info["first_recorded_at"] is None and info["last_recorded_at"] is None
    assert await latest_types(client, chronicle) == {}
    # Not scavenged yet, so clearing the metadata shows everything again.
    assert (await set_metadata(client, chronicle, "s"))["truncate_before"] is None
    assert_everywhere(await visible_versions(client, conn, chronicle, "s"), [0, 1, 2, 3])


async def test_max_age_hides_events_as_they_age(
    client: httpx.AsyncClient, conn: Connection, chronicle: str
) -> None:
    await publish(client, chronicle, "s", "old", "old")
    await set_metadata(client, chronicle, "s", max_age=3600)
    assert_everywhere(await visible_versions(client, conn, chronicle, "s"), [0, 1])
    await set_metadata(client, chronicle, "s", max_age=1)

    async def aged_out() -> bool:
        return (await client.get(f"/chronicles/{chronicle}/streams/s")).json()["event_count"] == 0

    await wait_for(aged_out, what="events older than max_age to be hidden")
    await publish(client, chronicle, "s", "new")
    assert_everywhere(await visible_versions(client, conn, chronicle, "s"), [2])
    assert await latest_types(client, chronicle) == {"new": ("s", 2)}


async def test_latest_per_type_falls_back_to_an_older_stream(
    client: httpx.AsyncClient, pool: asyncpg.Pool, chronicle: str
) -> None:
    await publish(client, chronicle, "older", "t")
    await publish(client, chronicle, "newer", "t", "u", "u")
    assert (await latest_types(client, chronicle))["t"] == ("newer", 0)
    await set_metadata(client, chronicle, "newer", max_count=2)
    assert await latest_types(client, chronicle) == {"t": ("older", 0), "u": ("newer", 2)}
    await Scavenger(pool, interval=1, batch_size=100).scavenge()
    assert await latest_types(client, chronicle) == {"t": ("older", 0), "u": ("newer", 2)}
    stale = await pool.fetchval(
        "SELECT count(*) FROM latest_events l JOIN chronicles c ON c.id = l.chronicle_id "
        "LEFT JOIN events e ON e.position = l.position WHERE c.name = $1 AND e.position IS NULL",
        chronicle,
    )
    assert stale == 0


async def _stored(pool: asyncpg.Pool, chronicle: str, stream: str) -> list[tuple[int, int]]:
    rows = await pool.fetch(
        "SELECT e.version, e.position FROM events e JOIN streams s ON s.id = e.stream_id "
        "JOIN chronicles c ON c.id = s.chronicle_id WHERE c.name = $1 AND s.name = $2 "
        "ORDER BY e.version",
        chronicle,
        stream,
    )
    return [(r["version"], r["position"]) for r in rows]


async def test_scavenger_removes_hidden_events_in_batches_keeping_numbers(
    client: httpx.AsyncClient, conn: Connection, pool: asyncpg.Pool, chronicle: str
) -> None:
    written = await publish(client, chronicle, "s", *["t"] * 7)
    await publish(client, chronicle, "kept", "t")
    await set_metadata(client, chronicle, "s", max_count=2)
    positions = [(e["version"], e["position"]) for e in written]

    with structlog.testing.capture_logs() as logs:
        removed = await Scavenger(pool, interval=1, batch_size=2).scavenge()
    mine = [r for r in removed if r.chronicle == chronicle]
    assert [(r.stream, r.events, r.first_version, r.last_version) for r in mine] == [("s", 5, 0, 4)]
    assert {
        "event": "retention_removed",
        "chronicle": chronicle,
        "stream": "s",
        "events": 5,
        "first_version": 0,
        "last_version": 4,
        "log_level": "info",
    } in logs
    assert await _stored(pool, chronicle, "s") == positions[5:]
    assert len(await _stored(pool, chronicle, "kept")) == 1
    assert_everywhere(await visible_versions(client, conn, chronicle, "s"), [5, 6])
    # Nothing left to do: a second pass removes nothing from this stream.
    again = await Scavenger(pool, interval=1, batch_size=2).scavenge()
    assert [r for r in again if r.chronicle == chronicle] == []

    next_event = (await publish(client, chronicle, "s", "t"))[0]
    assert next_event["version"] == 7 and next_event["position"] > positions[-1][1]
    info = (await client.get(f"/chronicles/{chronicle}/streams/s")).json()
    assert info["version"] == 7 and info["event_count"] == 2


async def test_subscriptions_continue_across_a_removed_range(
    client: httpx.AsyncClient, conn: Connection, pool: asyncpg.Pool, chronicle: str
) -> None:
    await publish(client, chronicle, "s", "t", "t", "t")
    live = await conn.subscribe_to(chronicle, "s", start_from="start")
    chronicle_live = await conn.subscribe_to(chronicle, start_from="start")
    async with asyncio.timeout(TIMEOUT):
        await live.caught_up.wait()
        await chronicle_live.caught_up.wait()
    await set_metadata(client, chronicle, "s", max_count=1)
    await publish(client, chronicle, "s", "t", "t")  # versions 3, 4
    await Scavenger(pool, interval=1, batch_size=100).scavenge()
    assert [v for v, _ in await _stored(pool, chronicle, "s")] == [4]
    await publish(client, chronicle, "s", "t")  # version 5

    # Both had delivered 0-2; 3 was hidden before they read it (4 came in the same
    # commit), and they go on from 4 to 5 across the range the scavenger removed.
    for subscription in (live, chronicle_live):
        got = []
        async with asyncio.timeout(TIMEOUT):
            async for event in subscription:
                got.append(event["version"])
                if len(got) == 5:
                    break
        assert got == [0, 1, 2, 4, 5]
    await live.stop()
    await chronicle_live.stop()

    # A new catch-up subscription reads across the removed range without a gap error.
    fresh = await _subscription_history(conn, {"chronicle": chronicle, "stream": "s", "start": 0})
    assert fresh == [5]
    from_position = await _subscription_history(conn, {"chronicle": chronicle, "start": 0})
    assert from_position == [5]


async def test_the_app_runs_the_scavenger(
    client: httpx.AsyncClient, pool: asyncpg.Pool, chronicle: str, database_url: str
) -> None:
    await publish(client, chronicle, "s", "t", "t", "t")
    settings = Settings(
        database_url=SecretStr(database_url),
        log_json=False,
        retention_interval=0.05,
        **TEST_LIMITS,
    )
    async with (
        serve(settings) as (base, _),
        httpx.AsyncClient(base_url=base, headers=AUTH) as other,
    ):
        await set_metadata(other, chronicle, "s", truncate_before=2)

        async def removed() -> bool:
            return [v for v, _ in await _stored(pool, chronicle, "s")] == [2]

        await wait_for(removed, what="the lifespan scavenger to remove versions 0 and 1")


async def test_metadata_over_websocket(conn: Connection, chronicle: str) -> None:
    ref = {"chronicle": chronicle, "stream": "s"}
    await conn.call("publish", {**ref, "events": [{"type": "t"}, {"type": "t"}]})
    assert await conn.call("get_stream_metadata", ref) == {
        "max_count": None,
        "max_age": None,
        "truncate_before": None,
    }
    set_to = await conn.call("set_stream_metadata", {**ref, "max_count": 1, "max_age": 60})
    assert set_to == {"max_count": 1, "max_age": 60, "truncate_before": None}
    assert await conn.call("get_stream_metadata", ref) == set_to
    assert (await conn.call("get_stream", ref))["event_count"] == 1
    with pytest.raises(CallError) as bad:
        await conn.call("set_stream_metadata", {**ref, "max_count": -1})
    assert bad.value.code == "validation_error"
    with pytest.raises(CallError) as missing:
        await conn.call("get_stream_metadata", {**ref, "stream": "nope"})
    assert missing.value.code == "stream_not_found"
    assert await conn.call("get_stream_metadata", ref) == set_to


@pytest.mark.parametrize(
    "body",
    [
        {"max_count": -1},
        {"max_count": 0},
        {"max_count": "5"},
        {"max_count": 2.5},
        {"max_count": True},
        {"max_age": 0},
        {"max_age": 2**62},
        {"truncate_before": -1},
        {"truncate_before": 2**63},
        {"max_cnt": 3},
        [1],
    ],
)
async def test_bad_metadata_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, chronicle: str, body: Any
) -> None:
    await publish(client, chronicle, "s", "t")
    await set_metadata(client, chronicle, "s", max_count=5)
    url = f"/chronicles/{chronicle}/streams/s/metadata"
    assert_problem(await client.put(url, json=body), 422, "validation_error")
    assert (await client.get(url)).json() == {
        "max_count": 5,
        "max_age": None,
        "truncate_before": None,
    }


async def test_metadata_of_a_missing_stream_or_chronicle(
    client: httpx.AsyncClient, pool: asyncpg.Pool, chronicle: str
) -> None:
    url = f"/chronicles/{chronicle}/streams/nope/metadata"
    assert_problem(await client.get(url), 404, "stream_not_found")
    assert_problem(await client.put(url, json={"max_count": 1}), 404, "stream_not_found")
    assert_problem(
        await client.put("/chronicles/nope-x9/streams/s/metadata", json={}),
        404,
        "chronicle_not_found",
    )
    assert_problem(
        await client.put(url, content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "malformed_json",
    )
    created = await pool.fetchval(
        "SELECT count(*) FROM streams s JOIN chronicles c ON c.id = s.chronicle_id "
        "WHERE c.name = $1",
        chronicle,
    )
    assert created == 0
