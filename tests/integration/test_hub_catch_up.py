"""Catch-up pages written as one batch of frames (hub/coalescing.py, Session._write_data):
framed by the server itself without compression, by websockets with it; a client that stops
reading mid catch-up gets the rest, in order, once it reads again."""

import asyncio
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from app.client import Connection
from app.config import Settings
from tests.integration.hub_servers import serve, ws_url
from tests.support import ADMIN_KEY, AUTH, TIMEOUT, wait_for

STREAMS, ROUNDS = 3, 40
# Small pages, so that a catch-up reads several and grows them; events up to 1 MB.
CATCH_UP = {
    "ws_subscription_page_size": 7,
    "ws_subscription_max_page_size": 30,
    "max_event_bytes": 1_100_000,
    "max_request_bytes": 2_000_000,
}


async def _history(base: str, chronicle: str, big: int = 70_000) -> list[dict[str, Any]]:
    """Events of all three frame length encodings (< 126, < 65,536 and larger bytes) over
    several streams; returns the chronicle's log as the HTTP API reads it."""
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, headers=AUTH) as http:
        for n in range(ROUNDS):
            for s in range(STREAMS):
                data = "x" * (big if n % 7 == 0 and s == 1 else 1_000 if n % 5 == 0 else 1)
                response = await http.post(
                    f"/chronicles/{chronicle}/streams/s{s}/events",
                    json={"events": [{"type": f"t{s}", "data": data}]},
                )
                assert response.status_code == 201, response.text
        response = await http.get("/events", params={"chronicle": chronicle, "limit": 1000})
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        assert len(events) == STREAMS * ROUNDS
        return events


async def _catch_up(ws: ClientConnection, chronicle: str) -> list[dict[str, Any]]:
    """Subscribes from the start; the events received until caught up."""
    params = {"chronicle": chronicle, "start": "start"}
    frame = {"type": "call", "id": "c", "method": "subscribe", "params": params}
    await ws.send(orjson.dumps(frame).decode())
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] == "ping":
                await ws.send(orjson.dumps({"type": "pong"}).decode())
            elif message["type"] == "data" and message["data"]["kind"] == "event":
                events.append(message["data"]["event"])
            elif message["type"] == "data" and message["data"]["kind"] == "caught_up":
                return events


async def test_catch_up_with_and_without_compression(settings: Settings, chronicle: str) -> None:
    small = settings.model_copy(update=CATCH_UP)
    async with serve(small) as (base, _):
        expected = await _history(base, chronicle)
        url = ws_url(base)
        for compression in (None, "deflate"):
            async with connect(
                url, additional_headers=AUTH, compression=compression, max_size=None
            ) as ws:
                assert await _catch_up(ws, chronicle) == expected, compression
        async with Connection(url, api_key=ADMIN_KEY) as conn:
            sub = await conn.subscribe_to(chronicle, start_from="start")
            async with asyncio.timeout(TIMEOUT):
                received = [event async for event in _until(sub, len(expected))]
            assert received == expected


async def _until(sub: Any, count: int) -> Any:
    n = 0
    async for event in sub:
        yield event
        n += 1
        if n == count:
            return


async def test_a_client_that_stops_reading_mid_catch_up_gets_the_rest_in_order(
    settings: Settings, chronicle: str
) -> None:
    small = settings.model_copy(update=CATCH_UP)
    async with serve(small) as (base, _):
        # ~6 MB: more than the socket buffers hold (<= 4 MB), so the server must wait.
        expected = await _history(base, chronicle, big=1_000_000)
        url = ws_url(base)
        parts = urlsplit(url)
        sock = socket.socket()
        # Fixed small, so that the server's socket backs up within the catch-up.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.connect((parts.hostname, parts.port))
        async with connect(
            url, additional_headers=AUTH, compression=None, max_size=None, max_queue=1, sock=sock
        ) as ws:
            params = {"chronicle": chronicle, "start": "start"}
            frame = {"type": "call", "id": "c", "method": "subscribe", "params": params}
            await ws.send(orjson.dumps(frame).decode())
            ws.transport.pause_reading()
            async with Connection(url, api_key=ADMIN_KEY) as other:

                async def backed_up() -> bool:
                    return bool((await other.call("stats"))["backed_up"])

                await wait_for(backed_up, what="the catch-up to wait for the socket")
            ws.transport.resume_reading()
            events: list[dict[str, Any]] = []
            async with asyncio.timeout(TIMEOUT):
                while True:  # up to caught_up: nothing left unread to hold up the close
                    message = orjson.loads(await ws.recv())
                    if message["type"] == "data" and message["data"]["kind"] == "event":
                        events.append(message["data"]["event"])
                    elif message["type"] == "data" and message["data"]["kind"] == "caught_up":
                        break
            assert events == expected
