"""Figure 4: publish over WebSocket, one connection per client, beside the raw ceiling R.

Two shapes of call on the hub: pipelined unary ``publish`` calls (each one event, several
in flight per connection), and client-streaming ``append`` calls (one event per ``send``,
published atomically at ``end``, several calls in flight per connection).
"""

import asyncio
import itertools
import time
from typing import Any

import orjson
from websockets.asyncio.client import connect

from bench.publish_http import create_chronicle, raw_inserts
from bench.report import Figure
from bench.servers import Server, chronicle_server

CLIENTS = 64
IN_FLIGHT = 8  # calls per connection
SENDS_PER_APPEND = 10
EVENT = {"type": "bench", "data": {"n": 1}}


def _text(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()  # the hub takes text frames only


async def _load(server: Server, clients: int, seconds: float, streaming: bool) -> float:
    """Events/s published over ``clients`` connections for ``seconds``."""
    chronicle = await create_chronicle(server)
    events = 0
    url = f"ws://127.0.0.1:{server.port}/ws"

    async def connection(n: int, deadline: float) -> None:
        nonlocal events
        async with connect(url, max_size=None, compression=None) as ws:
            waiting: dict[int, asyncio.Future[Any]] = {}
            ids = itertools.count()

            async def read() -> None:
                try:
                    await route()
                finally:
                    for done in waiting.values():
                        if not done.done():
                            done.set_exception(RuntimeError("connection closed"))

            async def route() -> None:
                async for message in ws:
                    frame = orjson.loads(message)
                    kind = frame["type"]
                    if kind == "end":
                        waiting.pop(frame["id"]).set_result(frame.get("result"))
                    elif kind == "error":
                        waiting.pop(frame["id"]).set_exception(RuntimeError(str(frame)))
                    elif kind == "ping":
                        await ws.send(_text({"type": "pong", "data": frame.get("data")}))

            def start(method: str, params: dict[str, Any]) -> tuple[int, asyncio.Future[Any]]:
                call_id = next(ids)
                waiting[call_id] = asyncio.get_running_loop().create_future()
                frame = {"type": "call", "id": call_id, "method": method, "params": params}
                return call_id, waiting[call_id], _text(frame)  # type: ignore[return-value]

            async def caller() -> None:
                nonlocal events
                stream = {"chronicle": chronicle, "stream": f"s{n}"}
                while time.perf_counter() < deadline:
                    if streaming:
                        call_id, done, frame = start("append", stream)  # type: ignore[misc]
                        await ws.send(frame)
                        send = _text({"type": "send", "id": call_id, "data": EVENT})
                        for _ in range(SENDS_PER_APPEND):
                            await ws.send(send)
                        await ws.send(_text({"type": "end", "id": call_id}))
                        await done
                        events += SENDS_PER_APPEND
                    else:
                        _, done, frame = start(  # type: ignore[misc]
                            "publish", {**stream, "events": [EVENT]}
                        )
                        await ws.send(frame)
                        await done
                        events += 1

            reader = asyncio.create_task(read())
            try:
                await asyncio.gather(*(caller() for _ in range(IN_FLIGHT)))
            finally:
                reader.cancel()

    started = time.perf_counter()
    await asyncio.gather(*(connection(n, started + seconds) for n in range(clients)))
    return events / (time.perf_counter() - started)


def run(url: str, smoke: bool, workers: int) -> list[Figure]:
    clients = 4 if smoke else CLIENTS
    seconds = 0.3 if smoke else 5.0
    rounds = 1 if smoke else 2
    w = f"{workers} worker{'s' if workers > 1 else ''}"
    ceilings: list[float] = []
    unary: list[float] = []
    streaming: list[float] = []
    with chronicle_server(url, workers) as server:
        asyncio.run(_load(server, clients, min(seconds, 1.0), False))  # warm up
        for r in range(rounds):
            ceilings.append(asyncio.run(raw_inserts(url, clients, seconds)))
            unary.append(asyncio.run(_load(server, clients, seconds, False)))
            streaming.append(asyncio.run(_load(server, clients, seconds, True)))
            print(
                f"  round {r + 1} ({w}): R {ceilings[-1]:,.0f}/s, ws publish "
                f"{unary[-1]:,.0f}/s, ws append {streaming[-1]:,.0f} events/s",
                flush=True,
            )
    ceiling = sum(ceilings) / len(ceilings)
    r_name = f"R: raw 1-row INSERT tx, {clients} conns"
    return [
        Figure(
            f"4a. WebSocket publish, pipelined unary ({IN_FLIGHT}/conn), {clients} conns, {w}",
            sum(unary) / len(unary),
            "events/s",
            r_name,
            ceiling,
            "≥ 1.0",
            "one event per call",
        ),
        Figure(
            f"4b. WebSocket append, client-streaming ({IN_FLIGHT}/conn), {clients} conns, {w}",
            sum(streaming) / len(streaming),
            "events/s",
            r_name,
            ceiling,
            "≥ 1.0",
            f"{SENDS_PER_APPEND} sends (one event each) per call",
        ),
    ]
