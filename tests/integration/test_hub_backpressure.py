"""A deliberately slow consumer beside a fast one: the fast one keeps receiving, the slow
one's server-side queue stays within its bound, and it later catches up from the database."""

import asyncio
import base64
import os
import socket
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import connect

from app.client import Connection
from app.config import Settings
from tests.integration.hub_servers import serve, ws_url
from tests.support import ADMIN_KEY, AUTH, TIMEOUT

EVENTS, BATCH, PAYLOAD = 1500, 50, 8000  # 12 MB: more than the server socket buffers (<= 4 MB)


def noise() -> str:
    return base64.b64encode(os.urandom(PAYLOAD * 3 // 4)).decode()


def small_buffer_socket(url: str) -> socket.socket:
    """A connected socket whose receive buffer is fixed small (no autotuning to 32 MB), so
    a client that stops reading pushes back on the server quickly."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.connect((parts.hostname, parts.port))
    return sock


async def test_slow_consumer_beside_a_fast_one(settings: Settings, chronicle: str) -> None:
    small = settings.model_copy(update={"ws_send_queue_size": 8, "ws_subscription_page_size": 20})
    async with serve(small) as (base, _):
        url = ws_url(base)
        # max_queue=1: the slow client buffers one frame, then stops reading the socket
        async with (
            connect(
                url,
                additional_headers=AUTH,
                max_queue=1,
                max_size=None,
                sock=small_buffer_socket(url),
            ) as slow,
            Connection(url, api_key=ADMIN_KEY) as fast,
        ):
            params = {"chronicle": chronicle, "stream": "s", "start": "start"}
            frame = {"type": "call", "id": "slow", "method": "subscribe", "params": params}
            await slow.send(orjson.dumps(frame).decode())
            slow.transport.pause_reading()  # the slow client: reads nothing for now
            fast_sub = await fast.subscribe_to(chronicle, "s", start_from="start")

            received: list[int] = []

            async def consume_fast() -> None:
                async for event in fast_sub:
                    received.append(event["version"])
                    if len(received) == EVENTS:
                        return

            consuming = asyncio.create_task(consume_fast())
            async with Connection(url, api_key=ADMIN_KEY) as writer:
                for _ in range(EVENTS // BATCH):
                    # random, so permessage-deflate cannot shrink it
                    events = [{"type": "t", "data": noise()} for _ in range(BATCH)]
                    await writer.call(
                        "publish", {"chronicle": chronicle, "stream": "s", "events": events}
                    )
                async with asyncio.timeout(TIMEOUT * 3):
                    await consuming
                assert received == list(range(EVENTS))

                stats = await writer.call("stats")
                assert stats["queue_limit"] == 8
                assert stats["max_queue_depth"] <= 8
                # the slow connection is really backed up: its queue is full, not drained
                assert max(stats["queue_depths"]) == 8, stats["frames_sent"]

            # now the slow consumer reads: everything, in order, from the database
            slow.transport.resume_reading()
            versions: list[int] = []
            async with asyncio.timeout(TIMEOUT * 3):
                while len(versions) < EVENTS:
                    message = orjson.loads(await slow.recv())
                    if message["type"] == "ping":
                        await slow.send(orjson.dumps({"type": "pong"}).decode())
                    elif message["type"] == "data" and message["data"]["kind"] == "event":
                        versions.append(message["data"]["event"]["version"])
            assert versions == list(range(EVENTS))
            await fast_sub.stop()
