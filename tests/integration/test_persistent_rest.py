"""Persistent subscriptions over REST: create, get, list, update, delete, and bad input."""

from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.test_chronicles import assert_problem
from tests.support import fresh_name


def path(chronicle: str | None, group: str) -> str:
    if chronicle is None:
        return f"/subscriptions/{group}"
    return f"/chronicles/{chronicle}/subscriptions/{group}"


async def test_create_get_list_update_delete(client: httpx.AsyncClient, chronicle: str) -> None:
    created = await client.put(
        path(chronicle, "billing"),
        json={
            "stream": "orders",
            "types": ["order/*"],
            "start": "start",
            "settings": {"ack_timeout": 5, "max_retries": 3, "strategy": "dispatch_to_single"},
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == path(chronicle, "billing")
    body = created.json()
    assert body["chronicle"] == chronicle and body["stream"] == "orders"
    assert body["types"] == ["order/*"] and body["start"] == "start"
    assert body["settings"] == {
        "ack_timeout": 5.0,
        "max_retries": 3,
        "max_in_flight": 10,
        "strategy": "dispatch_to_single",
    }
    assert body["checkpoint"] == 0 and body["consumers"] == 0 and body["parked"] == 0

    assert_problem(
        await client.put(path(chronicle, "billing"), json={}), 409, "subscription_exists"
    )
    # The same name is free in another chronicle and among the groups of everything.
    everything = fresh_name("all")
    assert (await client.put(path(None, everything), json={})).status_code == 201
    assert (await client.get(path(None, everything))).json()["chronicle"] is None

    await client.put(path(chronicle, "audit"), json={})
    listed = (await client.get(f"/chronicles/{chronicle}/subscriptions")).json()
    assert [g["name"] for g in listed["items"]] == ["audit", "billing"]
    page = (await client.get(f"/chronicles/{chronicle}/subscriptions", params={"limit": 1})).json()
    assert [g["name"] for g in page["items"]] == ["audit"] and page["next"] == "audit"

    patched = await client.patch(path(chronicle, "billing"), json={"max_in_flight": 2})
    assert patched.status_code == 200, patched.text
    assert patched.json()["settings"]["max_in_flight"] == 2
    assert patched.json()["settings"]["strategy"] == "dispatch_to_single"

    assert (await client.delete(path(chronicle, "billing"))).status_code == 204
    assert_problem(await client.get(path(chronicle, "billing")), 404, "subscription_not_found")
    assert_problem(await client.delete(path(chronicle, "billing")), 404, "subscription_not_found")
    assert (await client.delete(path(None, everything))).status_code == 204


async def test_start_end_begins_after_the_last_event(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    published = await client.post(
        f"/chronicles/{chronicle}/streams/s/events", json={"events": [{"type": "t"}]}
    )
    position = published.json()["events"][0]["position"]
    body = (await client.put(path(chronicle, "g"), json={"start": "end"})).json()
    assert body["start"] == "end" and body["checkpoint"] >= position + 1
    body = (await client.put(path(chronicle, "h"), json={"start": 7})).json()
    assert body["start"] == 7 and body["checkpoint"] == 7


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"settings": {"ack_timeout": 0}}, 422, "validation_error"),
        ({"settings": {"ack_timeout": -1}}, 422, "validation_error"),
        ({"settings": {"ack_timeout": 5e-324}}, 422, "validation_error"),
        ({"settings": {"ack_timeout": True}}, 422, "validation_error"),
        ({"settings": {"max_retries": False}}, 422, "validation_error"),
        ({"settings": {"max_in_flight": "5"}}, 422, "validation_error"),
        ({"settings": {"max_in_flight": 0}}, 422, "validation_error"),
        ({"settings": {"max_retries": -1}}, 422, "validation_error"),
        ({"settings": {"strategy": "random"}}, 422, "validation_error"),
        ({"settings": {"ack_timeout": "soon"}}, 422, "validation_error"),
        ({"settings": {"surprise": 1}}, 422, "validation_error"),
        ({"start": "middle"}, 422, "validation_error"),
        ({"start": -1}, 422, "validation_error"),
        ({"stream": "bad name"}, 422, "validation_error"),
        ({"types": ["a/*/b"]}, 422, "invalid_pattern"),
        ({"types": ["a//b"]}, 422, "invalid_pattern"),
        ({"types": "a"}, 422, "validation_error"),
        ({"types": []}, 422, "validation_error"),
        ({"unknown": True}, 422, "validation_error"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, chronicle: str, pool: asyncpg.Pool, body: Any, status: int, code: str
) -> None:
    assert_problem(await client.put(path(chronicle, "g"), json=body), status, code)
    assert_problem(await client.get(path(chronicle, "g")), 404, "subscription_not_found")
    count = await pool.fetchval(
        "SELECT count(*) FROM subscription_groups g JOIN chronicles c ON c.id = g.chronicle_id "
        "WHERE c.name = $1",
        chronicle,
    )
    assert count == 0


async def test_bad_updates_names_and_unknowns(client: httpx.AsyncClient, chronicle: str) -> None:
    assert (await client.put(path(chronicle, "g"), json={})).status_code == 201
    for patch in (
        {"max_in_flight": 0},
        {"max_retries": False},
        {"strategy": "x"},
        {"nope": 1},
        {"ack_timeout": 1e9},
    ):
        assert_problem(
            await client.patch(path(chronicle, "g"), json=patch), 422, "validation_error"
        )
    assert (await client.get(path(chronicle, "g"))).json()["settings"]["max_in_flight"] == 10
    malformed = await client.put(
        path(chronicle, "h"), content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(malformed, 400, "malformed_json")
    assert_problem(await client.put(path(chronicle, "bad name"), json={}), 422, "validation_error")
    missing = fresh_name("missing")
    assert_problem(await client.put(path(missing, "g"), json={}), 404, "chronicle_not_found")
    assert_problem(await client.get(path(missing, "g")), 404, "chronicle_not_found")
    assert_problem(
        await client.get(f"/chronicles/{missing}/subscriptions"), 404, "chronicle_not_found"
    )
    for method, suffix in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/parked"),
        ("POST", "/parked/replay"),
    ):
        for chron in (chronicle, None):
            response = await client.request(
                method, path(chron, "nobody") + suffix, json={} if method == "PATCH" else None
            )
            assert_problem(response, 404, "subscription_not_found")
    assert_problem(
        await client.get(path(chronicle, "g") + "/parked", params={"after": -1}),
        422,
        "validation_error",
    )


async def test_deleting_the_chronicle_deletes_its_groups(
    client: httpx.AsyncClient, chronicle: str, pool: asyncpg.Pool
) -> None:
    assert (await client.put(path(chronicle, "g"), json={})).status_code == 201
    assert (await client.delete(f"/chronicles/{chronicle}")).status_code == 204
    assert (await client.post("/chronicles", json={"name": chronicle})).status_code == 201
    assert_problem(await client.get(path(chronicle, "g")), 404, "subscription_not_found")
    orphans = await pool.fetchval(
        "SELECT count(*) FROM subscription_groups g WHERE g.chronicle_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM chronicles c WHERE c.id = g.chronicle_id)"
    )
    assert orphans == 0
