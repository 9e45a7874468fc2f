"""Streams over REST: acquire (idempotent create), list, info, delete."""

import httpx

from tests.integration.test_chronicles import assert_problem


async def test_acquire_is_idempotent(client: httpx.AsyncClient, chronicle: str) -> None:
    url = f"/chronicles/{chronicle}/streams/story-1"
    first = await client.put(url, json={"attributes": {"kind": "log"}})
    assert first.status_code == 201
    info = first.json()
    assert info["version"] == -1 and info["event_count"] == 0
    assert info["first_recorded_at"] is None and info["attributes"] == {"kind": "log"}

    again = await client.put(url, json={"attributes": {"kind": "other"}})
    assert again.status_code == 200
    assert again.json()["attributes"] == {"kind": "log"}
    assert (await client.put(url)).status_code == 200


async def test_info_tracks_events(client: httpx.AsyncClient, chronicle: str) -> None:
    url = f"/chronicles/{chronicle}/streams/s"
    published = await client.post(
        f"{url}/events", json={"events": [{"type": "a", "data": i} for i in range(3)]}
    )
    written = published.json()["events"]
    info = (await client.get(url)).json()
    assert info["version"] == 2 and info["event_count"] == 3
    assert info["first_recorded_at"] == written[0]["recorded_at"]
    assert info["last_recorded_at"] == written[2]["recorded_at"]


async def test_list_and_delete(client: httpx.AsyncClient, chronicle: str) -> None:
    for name in ["b", "a", "c"]:
        await client.put(f"/chronicles/{chronicle}/streams/{name}")
    page = (await client.get(f"/chronicles/{chronicle}/streams", params={"limit": 2})).json()
    assert [s["name"] for s in page["items"]] == ["a", "b"] and page["next"] == "b"
    rest = (
        await client.get(f"/chronicles/{chronicle}/streams", params={"after": page["next"]})
    ).json()
    assert [s["name"] for s in rest["items"]] == ["c"] and rest["next"] is None

    assert (await client.delete(f"/chronicles/{chronicle}/streams/b")).status_code == 204
    assert_problem(await client.get(f"/chronicles/{chronicle}/streams/b"), 404, "stream_not_found")
    assert_problem(
        await client.delete(f"/chronicles/{chronicle}/streams/b"), 404, "stream_not_found"
    )


async def test_unknown_chronicle_and_bad_names(client: httpx.AsyncClient, chronicle: str) -> None:
    assert_problem(await client.put("/chronicles/nope-x1/streams/s"), 404, "chronicle_not_found")
    assert_problem(await client.get("/chronicles/nope-x1/streams"), 404, "chronicle_not_found")
    assert_problem(
        await client.get(f"/chronicles/{chronicle}/streams/nope"), 404, "stream_not_found"
    )
    assert_problem(
        await client.put(f"/chronicles/{chronicle}/streams/a%20b"), 422, "validation_error"
    )
    assert_problem(
        await client.put(f"/chronicles/{chronicle}/streams/s", json={"attributes": 3}),
        422,
        "validation_error",
    )
    assert (await client.get(f"/chronicles/{chronicle}/streams")).json()["items"] == []
