"""Stream deletion with EventStoreDB's two modes, and chronicle deletion, over REST."""

from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.test_chronicles import assert_problem


async def _publish(client: httpx.AsyncClient, path: str, n: int, **body: Any) -> httpx.Response:
    events = [{"type": "t", "data": {"i": i}} for i in range(n)]
    return await client.post(f"{path}/events", json={"events": events, **body})


async def test_soft_delete_hides_the_stream_and_a_publish_recreates_it_continuing_versions(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    path = f"/chronicles/{chronicle}/streams/orders"
    assert (await _publish(client, path, 3)).status_code == 201
    assert (await client.delete(path)).status_code == 204

    assert_problem(await client.get(path), 404, "stream_not_found")
    assert_problem(await client.get(f"{path}/events"), 404, "stream_not_found")
    listed = (await client.get(f"/chronicles/{chronicle}/streams")).json()["items"]
    assert "orders" not in [s["name"] for s in listed]

    # Like EventStoreDB: a soft-deleted stream counts as "no stream" for the check...
    assert_problem(
        await _publish(client, path, 1, expected_version=2), 409, "wrong_expected_version"
    )
    recreated = await _publish(client, path, 2, expected_version="empty")
    assert recreated.status_code == 201, recreated.text
    # ...but its versions continue, and the old events stay hidden.
    assert [e["version"] for e in recreated.json()["events"]] == [3, 4]
    read = (await client.get(f"{path}/events")).json()["events"]
    assert [e["version"] for e in read] == [3, 4]


async def test_hard_delete_leaves_a_tombstone_every_later_use_answers_410(
    client: httpx.AsyncClient, chronicle: str, pool: asyncpg.Pool
) -> None:
    path = f"/chronicles/{chronicle}/streams/gone"
    assert (await _publish(client, path, 2)).status_code == 201
    assert (await client.delete(path, params={"mode": "hard"})).status_code == 204

    assert_problem(await _publish(client, path, 1), 410, "stream_deleted")
    assert_problem(await _publish(client, path, 1, expected_version="any"), 410, "stream_deleted")
    assert_problem(await client.get(path), 410, "stream_deleted")
    assert_problem(await client.get(f"{path}/events"), 410, "stream_deleted")
    assert_problem(await client.put(path), 410, "stream_deleted")
    assert_problem(await client.delete(path), 410, "stream_deleted")
    version = await pool.fetchval(
        "SELECT s.version FROM streams s JOIN chronicles c ON c.id = s.chronicle_id "
        "WHERE c.name = $1 AND s.name = 'gone'",
        chronicle,
    )
    assert version == 1  # nothing was written after the tombstone


@pytest.mark.parametrize("mode", ["purge", "", "HARD"])
async def test_an_unknown_delete_mode_is_refused_and_deletes_nothing(
    client: httpx.AsyncClient, chronicle: str, mode: str
) -> None:
    path = f"/chronicles/{chronicle}/streams/kept"
    assert (await _publish(client, path, 1)).status_code == 201
    response = await client.delete(path, params={"mode": mode})
    assert 400 <= response.status_code < 500 and response.status_code != 404, response.text
    assert (await client.get(path)).json()["version"] == 0


async def test_deleting_a_chronicle_removes_its_streams_and_events(
    client: httpx.AsyncClient, chronicle: str, pool: asyncpg.Pool
) -> None:
    for stream in ("a", "b"):
        path = f"/chronicles/{chronicle}/streams/{stream}"
        assert (await _publish(client, path, 2)).status_code == 201
    cid = await pool.fetchval("SELECT id FROM chronicles WHERE name = $1", chronicle)
    assert await pool.fetchval("SELECT count(*) FROM events WHERE chronicle_id = $1", cid) == 4
    assert (await client.delete(f"/chronicles/{chronicle}")).status_code == 204
    assert_problem(await client.get(f"/chronicles/{chronicle}"), 404, "chronicle_not_found")
    for table in ("events", "streams", "latest_events"):
        left = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE chronicle_id = $1", cid)
        assert left == 0, f"{table} kept {left} rows of the deleted chronicle"
    # The name is free again, and starts empty.
    assert (await client.post("/chronicles", json={"name": chronicle})).status_code == 201
    assert (await client.get(f"/chronicles/{chronicle}/streams")).json()["items"] == []
