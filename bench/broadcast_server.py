"""The ceiling of figures 6 and 7: a bare ``websockets`` server that broadcasts small frames.

    python -m bench.broadcast_server PORT

Clients connect to any path and receive; a client on ``/control`` sends ``go COUNT
INTERVAL_MS [LIMIT]`` and gets ``done`` once COUNT frames were broadcast to every other
client (the first LIMIT to connect), INTERVAL_MS apart (0: back to back, yielding to the
loop between frames). Each frame has
the shape and size of a Chronicle subscription event frame, serialized once and stamped
with ``recorded_at`` = the broadcast time, as Chronicle stamps its events.
"""

import asyncio
import contextlib
import sys
import time
import uuid

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

clients: dict[ServerConnection, None] = {}  # in connection order


def frame(n: int) -> str:
    event = {
        "event_id": str(uuid.uuid4()),
        "chronicle": "fan-0123abcd",
        "stream": "hot",
        "version": n,
        "position": 1_000_000 + n,
        "type": "bench",
        "data": {"n": n},
        "data_base64": None,
        "content_type": "application/json",
        "metadata": {},
        "recorded_at": time.time_ns(),
        "source_timestamp": None,
        "client_id": None,
    }
    data = {"kind": "event", "event": event}
    return orjson.dumps({"type": "data", "id": "s", "data": data}).decode()


async def handler(connection: ServerConnection) -> None:
    if connection.request is not None and connection.request.path == "/control":
        with contextlib.suppress(ConnectionClosed):
            async for message in connection:
                _, count, interval_ms, *limit = str(message).split()
                targets = list(clients)[: int(limit[0]) if limit else None]
                for n in range(int(count)):
                    broadcast(targets, frame(n))
                    await asyncio.sleep(int(interval_ms) / 1000)
                await connection.send("done")
        return
    clients[connection] = None
    try:
        await connection.wait_closed()
    finally:
        clients.pop(connection, None)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=2**20) as server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.install()  # the event loop Chronicle serves on
    asyncio.run(main(int(sys.argv[1])))
