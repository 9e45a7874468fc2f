"""HTTP-native concurrency: ETag = stream version, If-Match / If-None-Match on publish, 412."""

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.test_chronicles import assert_problem
from tests.integration.test_publish import events_url, stream_version

ONE = [{"type": "t", "data": {"n": 1}}]


async def post(
    client: httpx.AsyncClient,
    chronicle: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
    stream: str = "s",
) -> httpx.Response:
    return await client.post(
        events_url(chronicle, stream), json=body or {"events": ONE}, headers=headers
    )


async def test_etag_is_the_stream_version_on_reads_and_writes(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    stream = f"/chronicles/{chronicle}/streams/s"
    acquired = await client.put(stream)
    assert acquired.status_code == 201 and acquired.headers["etag"] == '"-1"'
    assert (await client.get(stream)).headers["etag"] == '"-1"'
    assert (await client.get(f"{stream}/events")).headers["etag"] == '"-1"'

    first = await post(client, chronicle, {})
    assert first.status_code == 201 and first.headers["etag"] == '"0"'
    batch = await post(client, chronicle, {}, {"events": ONE * 3})
    assert batch.headers["etag"] == '"3"' == f'"{batch.json()["stream_version"]}"'

    assert (await client.put(stream)).headers["etag"] == '"3"'
    assert (await client.get(stream)).headers["etag"] == '"3"'
    # A page carries the stream's version, not its own last event's.
    page = await client.get(f"{stream}/events", params={"limit": 1})
    assert [e["version"] for e in page.json()["events"]] == [0]
    assert page.headers["etag"] == '"3"'
    backwards = await client.get(f"{stream}/events", params={"direction": "backwards"})
    assert backwards.headers["etag"] == '"3"'
    # An event never changes: its ETag is its own version.
    assert (await client.get(f"{stream}/events/1")).headers["etag"] == '"1"'


async def test_if_match_publishes_only_at_that_version(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    await post(client, chronicle, {}, {"events": ONE * 2})

    written = await post(client, chronicle, {"If-Match": '"1"'})
    assert written.status_code == 201 and written.headers["etag"] == '"2"'

    stale = await post(client, chronicle, {"If-Match": '"1"'})
    body = assert_problem(stale, 412, "wrong_expected_version")
    assert body["details"] == {"chronicle": chronicle, "stream": "s", "expected": 1, "actual": 2}
    assert "etag" not in stale.headers
    assert await stream_version(client, chronicle) == 2

    # The same mismatch through the body is still a 409, with the same body but the status.
    conflict = await post(client, chronicle, {}, {"events": ONE, "expected_version": 1})
    assert_problem(conflict, 409, "wrong_expected_version")
    assert {**conflict.json(), "status": 412} == body


async def test_if_match_on_a_missing_stream_fails(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    response = await post(client, chronicle, {"If-Match": '"0"'}, stream="nowhere")
    body = assert_problem(response, 412, "wrong_expected_version")
    assert body["details"]["actual"] is None
    assert await stream_version(client, chronicle, "nowhere") is None


async def test_if_match_minus_one_expects_an_empty_stream(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    missing = await post(client, chronicle, {"If-Match": '"-1"'})
    assert_problem(missing, 412, "wrong_expected_version")
    acquired = await client.put(f"/chronicles/{chronicle}/streams/s")
    written = await post(client, chronicle, {"If-Match": acquired.headers["etag"]})
    assert written.status_code == 201, written.text
    again = await post(client, chronicle, {"If-Match": '"-1"'})
    assert assert_problem(again, 412, "wrong_expected_version")["details"]["expected"] == "empty"


async def test_if_match_star_needs_an_existing_stream(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    missing = await post(client, chronicle, {"If-Match": "*"})
    body = assert_problem(missing, 412, "wrong_expected_version")
    assert body["details"]["expected"] == "exists" and body["details"]["actual"] is None
    await post(client, chronicle, {})
    written = await post(client, chronicle, {"If-Match": "*"})
    assert written.status_code == 201 and written.headers["etag"] == '"1"'


async def test_if_none_match_star_creates_only_a_new_stream(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    created = await post(client, chronicle, {"If-None-Match": "*"})
    assert created.status_code == 201 and created.headers["etag"] == '"0"'

    exists = await post(client, chronicle, {"If-None-Match": "*"})
    body = assert_problem(exists, 412, "wrong_expected_version")
    assert body["details"]["expected"] == "no_stream" and body["details"]["actual"] == 0
    assert await stream_version(client, chronicle) == 0

    # An acquired stream exists, even without events.
    await client.put(f"/chronicles/{chronicle}/streams/empty")
    acquired = await post(client, chronicle, {"If-None-Match": "*"}, stream="empty")
    assert_problem(acquired, 412, "wrong_expected_version")


async def test_an_idempotent_repeat_with_a_stale_if_match_is_still_200(
    client: httpx.AsyncClient, chronicle: str
) -> None:
    body = {"events": [{**ONE[0], "event_id": str(uuid.uuid4())}]}
    first = await post(client, chronicle, {"If-None-Match": "*"}, body)
    assert first.status_code == 201
    repeat = await post(client, chronicle, {"If-None-Match": "*"}, body)
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    assert repeat.headers["etag"] == '"0"'


@pytest.mark.parametrize(
    ("headers", "header"),
    [
        ({"If-Match": 'W/"0"'}, "If-Match"),
        ({"If-Match": "0"}, "If-Match"),
        ({"If-Match": '"0", "1"'}, "If-Match"),
        ({"If-Match": '"00"'}, "If-Match"),
        ({"If-Match": '"-2"'}, "If-Match"),
        ({"If-Match": f'"{2**63}"'}, "If-Match"),
        ({"If-Match": ""}, "If-Match"),
        ({"If-None-Match": '"0"'}, "If-None-Match"),
        ({"If-None-Match": "*, *"}, "If-None-Match"),
    ],
)
async def test_a_malformed_precondition_is_400_and_writes_nothing(
    client: httpx.AsyncClient, chronicle: str, headers: dict[str, str], header: str
) -> None:
    response = await post(client, chronicle, headers)
    body = assert_problem(response, 400, "malformed_precondition")
    assert body["details"] == {"header": header}
    assert await stream_version(client, chronicle) is None


async def test_a_repeated_if_match_header_is_400(client: httpx.AsyncClient, chronicle: str) -> None:
    headers = httpx.Headers([("If-Match", '"0"'), ("If-Match", '"1"')])
    response = await client.post(events_url(chronicle), json={"events": ONE}, headers=headers)
    assert_problem(response, 400, "malformed_precondition")


@pytest.mark.parametrize(
    ("headers", "expected_version"),
    [
        ({"If-Match": '"0"'}, 1),
        ({"If-Match": '"0"'}, "no_stream"),
        ({"If-Match": "*"}, "no_stream"),
        ({"If-None-Match": "*"}, "exists"),
        ({"If-Match": '"-1"'}, 0),
        ({"If-Match": '"0"', "If-None-Match": "*"}, "any"),
    ],
)
async def test_conflicting_preconditions_are_422_and_write_nothing(
    client: httpx.AsyncClient, chronicle: str, headers: dict[str, str], expected_version: object
) -> None:
    body = {"events": ONE, "expected_version": expected_version}
    response = await post(client, chronicle, headers, body)
    assert_problem(response, 422, "conflicting_preconditions")
    assert await stream_version(client, chronicle) is None


@pytest.mark.parametrize(
    ("headers", "expected_version", "stream", "repeated"),
    [
        ({"If-Match": '"0"'}, 0, "one", 412),
        ({"If-Match": '"-1"'}, "empty", "empty", 412),
        ({"If-Match": "*"}, "exists", "one", 201),
        ({"If-None-Match": "*"}, "no_stream", "new", 412),
        ({"If-Match": '"0"'}, "any", "one", 412),
    ],
)
async def test_a_body_that_agrees_with_the_header_is_fine(
    client: httpx.AsyncClient,
    chronicle: str,
    headers: dict[str, str],
    expected_version: object,
    stream: str,
    repeated: int,
) -> None:
    await client.put(f"/chronicles/{chronicle}/streams/empty")
    await post(client, chronicle, {}, stream="one")
    body = {"events": ONE, "expected_version": expected_version}
    response = await post(client, chronicle, headers, body, stream=stream)
    assert response.status_code == 201, response.text
    # With a header, a mismatch is 412 even when the body says the same.
    again = await post(client, chronicle, headers, body, stream=stream)
    assert again.status_code == repeated, again.text


async def test_read_modify_write_with_the_etag(client: httpx.AsyncClient, chronicle: str) -> None:
    """Two clients read the same version; the first conditional write wins, the second
    gets 412, re-reads and retries with the fresh ETag."""
    await post(client, chronicle, {}, {"events": ONE * 2})
    url = f"/chronicles/{chronicle}/streams/s/events"
    alice = await client.get(url)
    bob = await client.get(url)
    assert alice.headers["etag"] == bob.headers["etag"] == '"1"'

    won = await post(client, chronicle, {"If-Match": alice.headers["etag"]})
    assert won.status_code == 201
    lost = await post(client, chronicle, {"If-Match": bob.headers["etag"]})
    assert_problem(lost, 412, "wrong_expected_version")

    reread = await client.get(url)
    assert len(reread.json()["events"]) == 3
    retried = await post(client, chronicle, {"If-Match": reread.headers["etag"]})
    assert retried.status_code == 201 and retried.headers["etag"] == '"3"'
    versions = [e["version"] for e in (await client.get(url)).json()["events"]]
    assert versions == [0, 1, 2, 3]
