"""Latest and timeseries queries and the global-log type filter, checked against the pure
matcher on generated data in the real database, and their 4xx answers."""

import random
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from app.domain.patterns import matches_any, parse_pattern, patterns_regex
from tests.support import fresh_name

SEGMENTS = ["a", "b", "a.b", "x+", "(c)", "é"]
PATTERNS = ["", "*", "a", "a/*", "?", "?/b", "a/?/*", "?/?", "x+/*", "(c)/a.b", "é/?", "b/b/b"]


def random_type(rng: random.Random) -> str:
    return "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(0, 3)))


async def publish(
    client: httpx.AsyncClient, chronicle: str, stream: str, events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    response = await client.post(
        f"/chronicles/{chronicle}/streams/{stream}/events", json={"events": events}
    )
    assert response.status_code == 201, response.text
    written: list[dict[str, Any]] = response.json()["events"]
    return written


@pytest.fixture
async def generated(client: httpx.AsyncClient, chronicle: str) -> list[dict[str, Any]]:
    """~120 events of random types over 3 streams; some without a source timestamp.
    Returns them as the store holds them, in position order."""
    rng = random.Random(4)
    for batch in range(6):
        stream = f"s{batch % 3}"
        events = [
            {
                "type": random_type(rng),
                "data": {"n": batch * 20 + i},
                **({"source_timestamp": rng.randint(0, 50)} if rng.random() < 0.8 else {}),
            }
            for i in range(20)
        ]
        await publish(client, chronicle, stream, events)
    page = await client.get("/events", params={"chronicle": chronicle, "limit": 1000})
    stored: list[dict[str, Any]] = page.json()["events"]
    assert len(stored) == 120
    return stored


def expected(events: list[dict[str, Any]], patterns: list[str]) -> list[dict[str, Any]]:
    parsed = [parse_pattern(p) for p in patterns]
    return [e for e in events if matches_any(parsed, e["type"])]


async def test_sql_regex_agrees_with_matcher(pool: asyncpg.Pool) -> None:
    rng = random.Random(7)
    types = sorted({random_type(rng) for _ in range(200)})
    for size in (1, 2, 3):
        for _ in range(30):
            chosen = rng.sample(PATTERNS, size)
            parsed = [parse_pattern(p) for p in chosen]
            found = await pool.fetchval(
                "SELECT coalesce(array_agg(t ORDER BY t), '{}') FROM unnest($1::text[]) t "
                "WHERE t ~ $2",
                types,
                patterns_regex(parsed),
            )
            assert sorted(found) == [t for t in types if matches_any(parsed, t)], chosen


async def test_latest_matches_reference(
    client: httpx.AsyncClient, chronicle: str, generated: list[dict[str, Any]]
) -> None:
    for patterns in ([], *([p] for p in PATTERNS), ["a", "?/b", "é/?"]):
        params = {"types": patterns} if patterns else {}
        response = await client.get(f"/chronicles/{chronicle}/query/latest", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        newest: dict[str, dict[str, Any]] = {}
        for e in expected(generated, patterns) if patterns else generated:
            newest[e["type"]] = e
        want = [newest[t]["event_id"] for t in sorted(newest)]
        assert [e["event_id"] for e in body["events"]] == want, patterns
        assert body["more_follows"] is False


async def test_latest_follows_new_events_and_deleted_streams(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    await publish(client, chronicle, "one", [{"type": "t", "data": 1}])
    await publish(client, chronicle, "two", [{"type": "t", "data": 2}])
    url = f"/chronicles/{chronicle}/query/latest"
    assert [e["data"] for e in (await client.get(url)).json()["events"]] == [2]
    deleted = await client.delete(f"/chronicles/{chronicle}/streams/two")
    assert deleted.status_code in (200, 204), deleted.text
    assert [e["data"] for e in (await client.get(url)).json()["events"]] == [1]


def sort_key(order_by: str) -> Any:
    return lambda e: (e[order_by], e["position"])


@pytest.mark.parametrize("order", ["ascending", "descending"])
@pytest.mark.parametrize("order_by", ["recorded_at", "source_timestamp"])
async def test_timeseries_pages_match_reference(
    client: httpx.AsyncClient,
    chronicle: str,
    generated: list[dict[str, Any]],
    order: str,
    order_by: str,
) -> None:
    times = sorted(e["recorded_at"] for e in generated)
    t_from, t_to = times[10], times[100]
    for patterns in (None, ["a/*"], ["?", "(c)/a.b", ""], ["*"]):
        want = [
            e
            for e in (generated if patterns is None else expected(generated, patterns))
            # A source window leaves out events without a source timestamp.
            if t_from <= e["recorded_at"] <= t_to
            and e["source_timestamp"] is not None
            and 5 <= e["source_timestamp"] <= 45
        ]
        want.sort(key=sort_key(order_by), reverse=order == "descending")
        params: dict[str, Any] = {
            "t_from": t_from,
            "t_to": t_to,
            "source_t_from": 5,
            "source_t_to": 45,
            "order": order,
            "order_by": order_by,
            "max_results": 7,
        }
        if patterns is not None:
            params["types"] = patterns
        got: list[dict[str, Any]] = []
        while True:
            response = await client.get(f"/chronicles/{chronicle}/query/timeseries", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            got.extend(body["events"])
            assert len(body["events"]) <= 7
            if not body["more_follows"]:
                break
            params["after"] = body["events"][-1]["event_id"]
        assert [e["event_id"] for e in got] == [e["event_id"] for e in want], patterns


async def test_timeseries_without_windows_and_default_order(
    client: httpx.AsyncClient, chronicle: str, generated: list[dict[str, Any]]
) -> None:
    response = await client.get(
        f"/chronicles/{chronicle}/query/timeseries", params={"max_results": 1000}
    )
    body = response.json()
    assert [e["event_id"] for e in body["events"]] == [e["event_id"] for e in generated[::-1]]
    assert body["more_follows"] is False


async def test_global_log_type_filter(
    client: httpx.AsyncClient, chronicle: str, generated: list[dict[str, Any]]
) -> None:
    for patterns in (["a/*"], ["?/?", ""], ["x+/*", "é/?"]):
        got: list[dict[str, Any]] = []
        start = generated[0]["position"]
        while True:
            params = {"chronicle": chronicle, "types": patterns, "from": start, "limit": 5}
            body = (await client.get("/events", params=params)).json()
            if not body["events"]:
                break
            got.extend(body["events"])
            start = body["next"]
        assert [e["event_id"] for e in got] == [
            e["event_id"] for e in expected(generated, patterns)
        ]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("query/latest", {"types": "a/*/b"}, "invalid_pattern"),
        ("query/latest", {"types": "a//b"}, "invalid_pattern"),
        ("query/timeseries", {"types": "*/x"}, "invalid_pattern"),
        ("query/timeseries", {"t_from": 10, "t_to": 9}, "invalid_range"),
        ("query/timeseries", {"source_t_from": 10, "source_t_to": 9}, "invalid_range"),
        ("query/timeseries", {"order": "sideways"}, None),
        ("query/timeseries", {"order_by": "timestamp"}, None),
        ("query/timeseries", {"max_results": 0}, None),
        ("query/timeseries", {"after": "not-a-uuid"}, None),
        ("query/timeseries", {"t_from": -1}, None),
    ],
)
async def test_bad_queries_are_4xx_problems(
    client: httpx.AsyncClient, chronicle: str, path: str, params: dict[str, Any], code: str | None
) -> None:
    response = await client.get(f"/chronicles/{chronicle}/{path}", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert response.json()["code"] == code


async def test_bad_pattern_on_global_log(client: httpx.AsyncClient) -> None:
    response = await client.get("/events", params={"types": "*/*"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_pattern"


async def test_unknown_chronicle_and_cursor_are_404(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    missing = await client.get(f"/chronicles/{fresh_name('none')}/query/latest")
    assert missing.status_code == 404
    assert missing.json()["code"] == "chronicle_not_found"
    cursor = await client.get(
        f"/chronicles/{chronicle}/query/timeseries", params={"after": str(uuid.uuid4())}
    )
    assert cursor.status_code == 404
    assert cursor.json()["code"] == "event_not_found"


async def test_filtered_global_log_moves_past_what_it_scanned(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    written = await publish(
        client, chronicle, "s", [{"type": "common", "data": i} for i in range(30)]
    )
    params = {
        "from": written[0]["position"],
        "types": "rare/*",
        "limit": 10,
        "chronicle": chronicle,
    }
    empty = (await client.get("/events", params=params)).json()
    assert empty["events"] == []
    assert empty["next"] > written[-1]["position"]
    rare = await publish(client, chronicle, "s", [{"type": "rare/x", "data": 1}])
    found = (await client.get("/events", params={**params, "from": empty["next"]})).json()
    assert [e["event_id"] for e in found["events"]] == [rare[0]["event_id"]]
