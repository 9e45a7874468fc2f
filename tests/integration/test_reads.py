"""Reading over REST: one event, a stream in pages both ways, replay by time, the global log."""

import httpx
import pytest

from tests.integration.test_chronicles import assert_problem
from tests.integration.test_publish import events_url, publish


@pytest.fixture
async def ten(client: httpx.AsyncClient, chronicle: str) -> list[dict[str, int]]:
    """Ten events in stream s, published one by one; returns their written records."""
    written = []
    for i in range(10):
        response = await publish(client, chronicle, [{"type": "n", "data": i}])
        written += response.json()["events"]
    return written


async def test_get_one_event(
    client: httpx.AsyncClient, chronicle: str, ten: list[dict[str, int]]
) -> None:
    event = (await client.get(f"{events_url(chronicle)}/4")).json()
    assert event["data"] == 4 and event["version"] == 4
    assert event["position"] == ten[4]["position"] and event["event_id"] == ten[4]["event_id"]
    assert_problem(await client.get(f"{events_url(chronicle)}/10"), 404, "event_not_found")
    assert_problem(await client.get(f"{events_url(chronicle)}/-1"), 422, "validation_error")
    assert_problem(await client.get(f"{events_url(chronicle)}/x"), 422, "validation_error")
    assert_problem(await client.get(f"{events_url(chronicle, 'nope')}/0"), 404, "stream_not_found")


async def test_read_forwards_in_pages(
    client: httpx.AsyncClient, chronicle: str, ten: object
) -> None:
    seen: list[int] = []
    cursor: int | None = 0
    while cursor is not None:
        page = (await client.get(events_url(chronicle), params={"from": cursor, "limit": 3})).json()
        seen += [e["data"] for e in page["events"]]
        cursor = page["next"]
    assert seen == list(range(10))


async def test_read_backwards_in_pages(
    client: httpx.AsyncClient, chronicle: str, ten: object
) -> None:
    first = (
        await client.get(events_url(chronicle), params={"direction": "backwards", "limit": 4})
    ).json()
    assert [e["version"] for e in first["events"]] == [9, 8, 7, 6] and first["next"] == 5
    seen = [e["version"] for e in first["events"]]
    cursor = first["next"]
    while cursor is not None:
        page = (
            await client.get(
                events_url(chronicle), params={"direction": "backwards", "from": cursor, "limit": 4}
            )
        ).json()
        seen += [e["version"] for e in page["events"]]
        cursor = page["next"]
    assert seen == list(range(9, -1, -1))


async def test_read_bad_parameters(client: httpx.AsyncClient, chronicle: str, ten: object) -> None:
    for params in (
        {"limit": -1},
        {"limit": 0},
        {"from": -3},
        {"direction": "sideways"},
        {"from": "x"},
    ):
        assert_problem(
            await client.get(events_url(chronicle), params=params), 422, "validation_error"
        )
    assert_problem(await client.get(events_url(chronicle, "nope")), 404, "stream_not_found")
    assert_problem(await client.get(events_url("nope-nope")), 404, "chronicle_not_found")


async def test_replay_is_inclusive(
    client: httpx.AsyncClient, chronicle: str, ten: list[dict[str, int]]
) -> None:
    url = f"/chronicles/{chronicle}/streams/s/replay"
    start, end = ten[2]["recorded_at"], ten[6]["recorded_at"]
    page = (await client.get(url, params={"start": start, "end": end})).json()
    assert [e["data"] for e in page["events"]] == [2, 3, 4, 5, 6] and page["next"] is None

    same = (await client.get(url, params={"start": start, "end": start})).json()
    assert [e["data"] for e in same["events"]] == [2]
    between = (await client.get(url, params={"start": start + 1, "end": end - 1})).json()
    assert [e["data"] for e in between["events"]] == [3, 4, 5]

    paged: list[int] = []
    cursor: int | None = None
    while True:
        params = {"start": 0, "end": 2**63 - 1, "limit": 4}
        if cursor is not None:
            params["from"] = cursor
        page = (await client.get(url, params=params)).json()
        paged += [e["data"] for e in page["events"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert paged == list(range(10))


async def test_replay_bad_ranges(client: httpx.AsyncClient, chronicle: str, ten: object) -> None:
    url = f"/chronicles/{chronicle}/streams/s/replay"
    body = assert_problem(
        await client.get(url, params={"start": 10, "end": 5}), 422, "invalid_range"
    )
    assert body["details"] == {"start": 10, "end": 5}
    assert_problem(await client.get(url, params={"start": -1, "end": 5}), 422, "validation_error")
    assert_problem(await client.get(url, params={"start": 1}), 422, "validation_error")
    assert_problem(
        await client.get(url, params={"start": 1, "end": 2**63}), 422, "validation_error"
    )


async def test_global_log_filtered_by_chronicle(
    client: httpx.AsyncClient, chronicle: str, ten: list[dict[str, int]]
) -> None:
    page = (await client.get("/events", params={"chronicle": chronicle, "limit": 4})).json()
    assert [e["data"] for e in page["events"]] == [0, 1, 2, 3]
    assert page["next"] == page["events"][-1]["position"] + 1
    rest = (
        await client.get("/events", params={"chronicle": chronicle, "from": page["next"]})
    ).json()
    assert [e["data"] for e in rest["events"]] == list(range(4, 10))
    tail = (
        await client.get("/events", params={"chronicle": chronicle, "from": rest["next"]})
    ).json()
    assert tail["events"] == [] and tail["next"] == rest["next"]

    everything = (
        await client.get("/events", params={"from": ten[0]["position"], "limit": 1000})
    ).json()
    positions = [e["position"] for e in everything["events"]]
    assert positions == sorted(positions)
    assert {w["position"] for w in ten} <= set(positions)
    assert_problem(
        await client.get("/events", params={"chronicle": "no-such-x"}), 404, "chronicle_not_found"
    )
    assert_problem(await client.get("/events", params={"from": -1}), 422, "validation_error")


async def test_type_filters_refuse_control_characters(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    for url in ("/events", f"/chronicles/{chronicle}/query/latest"):
        response = await client.get(url, params={"types": "a\u0000b"})
        assert_problem(response, 422, "validation_error")
