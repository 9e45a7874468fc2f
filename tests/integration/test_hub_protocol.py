"""The hub's framing over raw WebSockets: bad frames, acks, keep-alive, graceful shutdown."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.client import Connection
from app.config import Settings
from tests.integration.hub_servers import serve, ws_url
from tests.support import ADMIN_KEY, AUTH, TIMEOUT, wait_for


@pytest.fixture
async def raw(server: str) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(server), additional_headers=AUTH) as ws:
        yield ws


async def send(ws: ClientConnection, frame: Any) -> None:
    await ws.send(orjson.dumps(frame).decode())


async def receive(ws: ClientConnection, type: str | None = None) -> dict[str, Any]:
    """The next frame (of ``type``, skipping keep-alive pings)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame: dict[str, Any] = orjson.loads(await ws.recv())
            if frame["type"] == "ping" and type != "ping":
                await send(ws, {"type": "pong", "data": frame.get("data")})
                continue
            if type is None or frame["type"] == type:
                return frame


async def still_usable(ws: ClientConnection) -> None:
    await send(ws, {"type": "ping", "data": "alive?"})
    assert await receive(ws, "pong") == {"type": "pong", "data": "alive?"}


async def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code, ws.close_reason


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ([1, 2], "invalid_frame"),
        ({"id": "x"}, "unknown_frame_type"),
        ({"type": "shout", "id": "x"}, "unknown_frame_type"),
        ({"type": "call", "method": "ping"}, "invalid_frame"),
        ({"type": "call", "id": 1.5, "method": "ping"}, "invalid_frame"),
        ({"type": "call", "id": "a", "method": "nope"}, "unknown_method"),
        ({"type": "call", "id": "a", "method": "get_chronicle", "params": {}}, "validation_error"),
        (
            {"type": "call", "id": "a", "method": "get_chronicle", "params": {"name": "x y"}},
            "validation_error",
        ),
        ({"type": "send", "id": "nobody", "data": {}}, "unknown_call"),
        ({"type": "end", "id": "nobody"}, "unknown_call"),
        ({"type": "cancel", "id": "nobody"}, "unknown_call"),
        ({"type": "call", "id": "a", "method": "ping", "extra": 1}, "invalid_frame"),
    ],
)
async def test_malformed_frames_get_an_error_and_the_connection_stays(
    raw: ClientConnection, frame: Any, code: str
) -> None:
    await send(raw, frame)
    error = await receive(raw, "error")
    assert error["error"]["code"] == code, error
    assert error["error"]["message"]
    await still_usable(raw)


async def test_duplicate_call_id_leaves_the_open_call_alone(
    raw: ClientConnection, chronicle: str
) -> None:
    subscribe = {"chronicle": chronicle, "stream": "s"}
    await send(raw, {"type": "call", "id": "sub", "method": "subscribe", "params": subscribe})
    assert (await receive(raw, "data"))["data"]["kind"] == "subscribed"
    await send(raw, {"type": "call", "id": "sub", "method": "ping"})
    error = await receive(raw, "error")
    assert error["id"] == "sub" and error["error"]["code"] == "duplicate_call_id"
    await send(raw, {"type": "send", "id": "sub", "data": {"stop": True}})
    assert await receive(raw, "ack") == {"type": "ack", "id": "sub", "of": "send"}
    ended = await receive(raw, "end")
    assert ended["id"] == "sub" and ended["result"]["reason"] == "stopped"


async def test_send_on_a_call_that_takes_none(raw: ClientConnection, chronicle: str) -> None:
    # a large read stays open long enough for a send to reach it
    events = [{"type": "t", "data": "x" * 1000} for _ in range(50)]
    for _ in range(4):
        publish = {"chronicle": chronicle, "stream": "s", "events": events}
        await send(raw, {"type": "call", "id": "p", "method": "publish", "params": publish})
        await receive(raw, "end")
    await send(
        raw, {"type": "call", "id": "r", "method": "read", "params": {"chronicle": chronicle}}
    )
    await send(raw, {"type": "send", "id": "r", "data": {}})
    frames = []
    while not frames or frames[-1]["type"] != "end":
        frames.append(await receive(raw))
    errors = [f for f in frames if f["type"] == "error"]
    assert errors and errors[0]["error"]["code"] in ("send_not_accepted", "unknown_call")
    assert len([f for f in frames if f["type"] == "data"]) == 200


async def test_non_json_closes_1007(raw: ClientConnection) -> None:
    await raw.send("{not json")
    code, reason = await closed_with(raw)
    assert code == 1007 and "not JSON" in (reason or "")


async def test_binary_frame_closes_1003(raw: ClientConnection) -> None:
    await raw.send(b"\x00\x01")
    code, _ = await closed_with(raw)
    assert code == 1003


async def test_other_connections_carry_on(server: str, raw: ClientConnection) -> None:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as other:
        await raw.send("garbage")
        await closed_with(raw)
        assert await other.ping() > 0


@pytest.fixture(scope="module")
def quick_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"ws_ping_interval": 0.1, "ws_pong_timeout": 0.3, "ws_max_frame_bytes": 2000}
    )


async def test_oversize_frame_closes_1009(quick_settings: Settings) -> None:
    async with (
        serve(quick_settings) as (base, _),
        connect(ws_url(base), additional_headers=AUTH) as ws,
    ):
        await send(ws, {"type": "ping", "data": "x" * 3000})
        code, reason = await closed_with(ws)
        assert code == 1009 and "limit is 2000" in (reason or "")


async def test_keep_alive(quick_settings: Settings) -> None:
    async with serve(quick_settings) as (base, _):
        async with connect(ws_url(base), additional_headers=AUTH) as silent:
            assert (await receive(silent, "ping"))["type"] == "ping"
            code, reason = await closed_with(silent)  # never pongs
            assert code == 4408 and "no pong" in (reason or "")
        async with connect(ws_url(base), additional_headers=AUTH) as polite:
            for _ in range(5):  # five rounds of ping/pong, well past the pong timeout
                ping = await receive(polite, "ping")
                await send(polite, {"type": "pong", "data": ping["data"]})
            await still_usable(polite)
        async with Connection(
            ws_url(base), api_key=ADMIN_KEY
        ) as client:  # the client answers by itself
            for _ in range(3):
                await asyncio.sleep(quick_settings.ws_pong_timeout)  # let pings happen
            assert await client.ping() > 0


async def test_graceful_shutdown_ends_subscriptions_with_a_reason(
    settings: Settings, chronicle: str
) -> None:
    async with serve(settings) as (base, server):
        client = Connection(ws_url(base), api_key=ADMIN_KEY)
        await client.connect()
        sub = await client.subscribe_to(chronicle, "s", start_from="end")
        server.should_exit = True
        ended = await asyncio.wait_for(sub.call.result(), TIMEOUT)
        assert ended["reason"] == "shutdown" and ended["next"] == 0
        await asyncio.wait_for(client.wait_closed(), TIMEOUT)
        assert (client.close_code, client.close_reason) == (1001, "server shutting down")


async def test_a_vanished_client_leaves_nothing_behind(server: str, chronicle: str) -> None:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as observer:
        before = (await observer.call("stats"))["connections"]
        async with connect(ws_url(server), additional_headers=AUTH) as gone:
            params = {"chronicle": chronicle, "stream": "s"}
            await send(gone, {"type": "call", "id": 1, "method": "subscribe", "params": params})
            await receive(gone, "data")
            assert (await observer.call("stats"))["connections"] == before + 1
            gone.transport.abort()  # no close handshake

        async def cleaned_up() -> bool:
            stats = await observer.call("stats")
            return bool(stats["connections"] == before and stats["calls"] == 1)  # the stats call

        await wait_for(cleaned_up, what="the session and its subscription to go")
