"""The Python client against the real server: photonpump-style calls, Volt-style call
objects with handlers, and the ChronoLog-style helper."""

import asyncio
import time
from typing import Any

import pytest

from app.client import CallError, ChronoLog, Connection
from tests.integration.hub_servers import ws_url
from tests.support import ADMIN_KEY, TIMEOUT, fresh_name


async def test_photonpump_style(server: str, chronicle: str) -> None:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as conn:
        assert await conn.ping() > 0
        written = await conn.publish_event(
            chronicle, "orders", "order/created", {"id": 1}, expected_version="no_stream"
        )
        assert written["stream_version"] == 0
        event = await conn.get_event(chronicle, "orders", 0)
        assert event["data"] == {"id": 1}
        with pytest.raises(CallError) as conflict:
            await conn.publish_event(chronicle, "orders", "t", {}, expected_version="no_stream")
        assert conflict.value.code == "wrong_expected_version"

        subscription = await conn.subscribe_to(chronicle, "orders", start_from="start")
        await conn.publish_event(chronicle, "orders", "order/paid", {"id": 1})
        seen = []
        async with asyncio.timeout(TIMEOUT):
            async for e in subscription:
                seen.append(e["type"])
                if len(seen) == 2:
                    break
        assert seen == ["order/created", "order/paid"]
        assert (await subscription.stop())["reason"] == "stopped"


async def test_volt_style_call_objects(server: str, chronicle: str) -> None:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as conn:
        events: list[Any] = []
        ended = asyncio.Event()
        errors: list[CallError] = []

        call = await conn.start("append", {"chronicle": chronicle, "stream": "s"})

        @call.on("end")
        def on_end(result: Any) -> None:
            events.append(result)
            ended.set()

        call.on("error", errors.append)
        for i in range(3):
            await call.send({"type": "t", "data": i})
        await call.end()
        async with asyncio.timeout(TIMEOUT):
            await ended.wait()
        assert [e["version"] for e in events[0]["events"]] == [0, 1, 2] and not errors

        streamed: list[Any] = []
        read = await conn.start("read", {"chronicle": chronicle, "stream": "s"})
        read.on("data", lambda data: streamed.append(data["data"]))
        assert (await read.result())["count"] == 3
        assert streamed == [0, 1, 2]

        failing = await conn.start("read", {"chronicle": chronicle, "stream": "missing"})
        failing.on("error", errors.append)
        with pytest.raises(CallError):
            await failing.result()
        assert [e.code for e in errors] == ["stream_not_found"]


async def test_chronolog_helper(server: str) -> None:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as conn:
        log = ChronoLog(conn, client_id="writer-1")
        name = fresh_name("cl")
        assert await log.create_chronicle(name, {"owner": "me"}) is True
        assert await log.create_chronicle(name) is False  # already exists: told, not raised
        story = await log.acquire_story(name, "my_story")
        began = time.time_ns()
        for record in ("py_event_1", "py_event_2", "py_event_3"):
            await story.log_event(record)
        await log.release_story(name, "my_story")
        replayed = await log.replay_story(name, "my_story", began - 10**9, time.time_ns() + 10**9)
        assert [e["data"] for e in replayed] == ["py_event_1", "py_event_2", "py_event_3"]
        assert {e["client_id"] for e in replayed} == {"writer-1"}
        assert [e["metadata"]["index"] for e in replayed] == [0, 1, 2]
        first, last = replayed[0]["recorded_at"], replayed[-1]["recorded_at"]
        only_ends = await log.replay_story(name, "my_story", first, first)
        assert [e["data"] for e in only_ends] == ["py_event_1"]
        assert len(await log.replay_story(name, "my_story", first, last)) == 3  # inclusive


async def test_connection_lost_fails_open_calls(server: str, chronicle: str) -> None:
    conn = Connection(ws_url(server), api_key=ADMIN_KEY)
    await conn.connect()
    subscription = await conn.subscribe_to(chronicle, "s")
    await conn.close()
    with pytest.raises(CallError) as lost:
        await subscription.call.result()
    assert lost.value.code == "connection_lost"
