"""Events read as JSON text built by PostgreSQL (storage/event_json.py) equal EventOut."""

import asyncpg
import httpx
import orjson

from app.schemas.events import EventOut
from app.storage import event_json, reader
from app.storage.catalog import chronicle_id


async def test_event_json_equals_event_out(
    client: httpx.AsyncClient, pool: asyncpg.Pool, chronicle: str
) -> None:
    binary = "AAEC/f7/" * 30  # longer than one line of PostgreSQL's base64 output
    events = [
        {"type": "a", "data": {"ünï": "cödé \u2603", "n": [1, 2.5, -3e-7, None, True]}},
        {"type": "b", "data": None, "metadata": {"k": "v", "nested": {"x": 1}}},
        {"type": "c", "data": 'text "quoted"\n', "source_timestamp": 123, "client_id": "w-1"},
        {"type": "d", "data_base64": binary},
        {"type": "e", "data_base64": "aGVsbG8=", "content_type": "text/plain"},
        {"type": "f", "data": 12345678901234567890},
    ]
    response = await client.post(
        f"/chronicles/{chronicle}/streams/s/events", json={"events": events}
    )
    assert response.status_code == 201, response.text
    cid = await chronicle_id(pool, chronicle)
    expected = [
        EventOut.of(e).model_dump(mode="json")
        for e in (await reader.read_log(pool, 0, 100, cid)).events
    ]
    found, _ = await event_json.read_log_json(pool, 0, 100, cid, None)
    assert [orjson.loads(e.json) for e in found] == expected
    in_stream = await event_json.read_stream_json(pool, chronicle, "s", 2, 100)
    assert [orjson.loads(e.json) for e in in_stream] == expected[2:]
    assert [(e.position, e.version, e.type) for e in in_stream] == [
        (x["position"], x["version"], x["type"]) for x in expected[2:]
    ]


async def _publish(client: httpx.AsyncClient, chronicle: str, stream: str, *data: object) -> None:
    events = [{"type": "t", "data": d} for d in data]
    response = await client.post(
        f"/chronicles/{chronicle}/streams/{stream}/events", json={"events": events}
    )
    assert response.status_code == 201, response.text


async def test_a_log_reader_sees_changes_made_between_its_pages(
    client: httpx.AsyncClient, pool: asyncpg.Pool, chronicle: str
) -> None:
    """What a catch-up's reader keeps (names) must not hide a delete, a retention change or
    a new stream made after its first page: each page checks visibility itself."""
    for n in range(3):
        for stream in ("a", "b", "c", "d"):
            await _publish(client, chronicle, stream, f"{stream}{n}")
    response = await client.put(
        f"/chronicles/{chronicle}/streams/d/metadata", json={"max_count": 1}
    )
    assert response.status_code == 200, response.text
    cid = await chronicle_id(pool, chronicle)
    log = event_json.LogJsonReader(cid, None)
    first, after, full = await log.page(pool, 0, 4)
    assert full
    # d0 is hidden by max_count; the page holds 4 visible events.
    assert [orjson.loads(e.json)["data"] for e in first] == ["a0", "b0", "c0", "a1"]

    streams = f"/chronicles/{chronicle}/streams"
    response = await client.put(f"{streams}/b/metadata", json={"truncate_before": 2})
    assert response.status_code == 200, response.text
    assert (await client.delete(f"{streams}/c", params={"mode": "hard"})).status_code == 204
    response = await client.put(f"{streams}/d/metadata", json={"max_count": None})
    assert response.status_code == 200, response.text
    await _publish(client, chronicle, "e", "e0")

    rest, _, full = await log.page(pool, after, 100)
    assert not full
    expected = [
        EventOut.of(e).model_dump(mode="json")
        for e in (await reader.read_log(pool, after, 100, cid)).events
    ]
    assert [orjson.loads(e.json) for e in rest] == expected
    assert [x["data"] for x in expected] == ["d1", "a2", "b2", "d2", "e0"]
    assert [(x["chronicle"], x["stream"]) for x in expected] == [
        (chronicle, s) for s in ("d", "a", "b", "d", "e")
    ]


async def test_a_log_reader_that_forgets_names_still_names_every_event(
    client: httpx.AsyncClient, pool: asyncpg.Pool, chronicle: str
) -> None:
    """Past its limit a reader forgets the names it kept; a page that mixes forgotten and
    new streams must still name each of its events."""
    for stream in ("a", "b", "c"):
        await _publish(client, chronicle, stream, 1)
    for stream in ("a", "b", "c"):
        await _publish(client, chronicle, stream, 2)
    cid = await chronicle_id(pool, chronicle)
    log = event_json.LogJsonReader(cid, None, max_names=2)
    first, cursor, _ = await log.page(pool, 0, 2)  # a, b: the reader keeps 2 names
    rest, _, _ = await log.page(pool, cursor, 10)  # c is new, a and b come again
    expected, _ = await event_json.read_log_json(pool, 0, 10, cid, None)
    assert [e.json for e in first + rest] == [e.json for e in expected]
    assert [orjson.loads(e.json)["stream"] for e in rest] == ["c", "a", "b", "c"]
