"""Chronicles over REST: create, list, get, update attributes, delete, and bad input."""

import httpx
import pytest

from tests.support import fresh_name

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = response.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


async def test_create_get_and_exists(client: httpx.AsyncClient) -> None:
    name = fresh_name()
    created = await client.post("/chronicles", json={"name": name, "attributes": {"site": "lab"}})
    assert created.status_code == 201
    assert created.headers["location"] == f"/chronicles/{name}"
    assert created.json()["attributes"] == {"site": "lab"}

    again = await client.post("/chronicles", json={"name": name})
    assert_problem(again, 409, "chronicle_exists")
    # The existing chronicle is untouched by the refused create.
    assert (await client.get(f"/chronicles/{name}")).json()["attributes"] == {"site": "lab"}


async def test_list_pages_in_name_order(client: httpx.AsyncClient) -> None:
    prefix = fresh_name("list")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in reversed(names):
        assert (await client.post("/chronicles", json={"name": name})).status_code == 201
    seen: list[str] = []
    after: str | None = f"{prefix}-"
    while after is not None:
        page = (await client.get("/chronicles", params={"after": after, "limit": 2})).json()
        seen += [c["name"] for c in page["items"] if c["name"].startswith(prefix)]
        after = page["next"]
        if page["items"] and not page["items"][-1]["name"].startswith(prefix):
            break
    assert seen == names


async def test_update_attributes_merges_and_removes(client: httpx.AsyncClient) -> None:
    name = fresh_name()
    await client.post("/chronicles", json={"name": name, "attributes": {"a": 1, "b": 2}})
    patched = await client.patch(f"/chronicles/{name}", json={"attributes": {"b": None, "c": 3}})
    assert patched.status_code == 200
    assert patched.json()["attributes"] == {"a": 1, "c": 3}


async def test_delete(client: httpx.AsyncClient) -> None:
    name = fresh_name()
    await client.post("/chronicles", json={"name": name})
    await client.post(
        f"/chronicles/{name}/streams/s/events", json={"events": [{"type": "t", "data": 1}]}
    )
    assert (await client.delete(f"/chronicles/{name}")).status_code == 204
    assert_problem(await client.get(f"/chronicles/{name}"), 404, "chronicle_not_found")
    assert_problem(await client.delete(f"/chronicles/{name}"), 404, "chronicle_not_found")
    # Its streams and events went with it.
    assert_problem(
        await client.get(f"/chronicles/{name}/streams/s/events"), 404, "chronicle_not_found"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "a b"},
        {"name": "x" * 129},
        {"name": 5},
        {"name": "ok", "attributes": []},
        {"name": "ok", "attributes": "x"},
        {"name": "ok", "unknown": 1},
        {},
        [],
    ],
)
async def test_create_rejects_bad_bodies(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post("/chronicles", json=body)
    assert_problem(response, 422, "validation_error")
    assert (await client.get("/chronicles/ok")).status_code == 404


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/chronicles", content=b'{"name": "x"', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed_json")


async def test_bad_path_and_query_values(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/chronicles/bad%20name"), 422, "validation_error")
    assert_problem(await client.get("/chronicles", params={"limit": -1}), 422, "validation_error")
    assert_problem(await client.get("/chronicles", params={"limit": 0}), 422, "validation_error")
    assert_problem(
        await client.get("/chronicles", params={"limit": 100000}), 422, "validation_error"
    )
    assert_problem(await client.get("/no/such/route"), 404, "not_found")
    assert_problem(await client.put("/chronicles"), 405, "method_not_allowed")


async def test_attributes_postgres_cannot_store(client: httpx.AsyncClient) -> None:
    name = fresh_name()
    response = await client.post("/chronicles", json={"name": name, "attributes": {"k": "\u0000"}})
    assert_problem(response, 422, "invalid_input")
    assert_problem(await client.get(f"/chronicles/{name}"), 404, "chronicle_not_found")


async def test_method_not_allowed_says_what_is(client: httpx.AsyncClient) -> None:
    response = await client.request("TRACE", "/chronicles")
    assert_problem(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
