"""Figure 7: server memory (RSS) holding 10,000 idle WebSocket connections, then with 1,000
of them subscribed and receiving, beside a bare ``websockets`` server (uvloop) holding as
many connections and broadcasting as many frames to as many of them.

    python -m bench.connections [--idle 10000] [--active 1000] [--workers 1] [--smoke]

RSS is summed over the server's process tree (all workers). The clients (this process)
offer no compression, so neither server keeps deflate state per connection.
"""

import asyncio
import uuid

import aiohttp
import typer

from bench.database import bench_database
from bench.fanout import EVENT_MARKER, broadcast_server
from bench.report import Figure, markdown
from bench.servers import chronicle_server, rss_bytes
from bench.ws_client import FrameCounter, open_client, open_clients, raise_open_files_limit

MIB = 1024 * 1024
EVENTS = 100


async def _settled_rss(pid: int) -> float:
    await asyncio.sleep(1.0)  # let the last handshakes and frames finish
    return rss_bytes(pid) / MIB


async def ceiling_memory(url: str, pid: int, idle: int, active: int) -> tuple[float, float, float]:
    """RSS (MiB) of the bare server: empty, with ``idle`` connections, after ``EVENTS``
    frames to ``active`` of them."""
    empty = await _settled_rss(pid)
    clients = await open_clients(url + "/", idle, EVENT_MARKER)
    control: FrameCounter | None = None
    try:
        holding = await _settled_rss(pid)
        control = await open_client(url + "/control", b"done")
        control.send_text(f"go {EVENTS} 0 {active}".encode())
        await asyncio.gather(*(c.wait_events(EVENTS, 120) for c in clients[:active]))
        return empty, holding, await _settled_rss(pid)
    finally:
        for c in [*clients, *([control] if control else [])]:
            c.close()


async def chronicle_memory(
    base: str, pid: int, idle: int, active: int
) -> tuple[float, float, float]:
    """RSS (MiB) of Chronicle: empty, with ``idle`` connections, after ``EVENTS`` events to
    ``active`` subscriptions (one per connection, all on one stream)."""
    empty = await _settled_rss(pid)
    url = base.replace("http://", "ws://") + "/ws"
    clients = await open_clients(url, idle, EVENT_MARKER)
    try:
        holding = await _settled_rss(pid)
        chronicle = f"mem-{uuid.uuid4().hex[:8]}"
        async with aiohttp.ClientSession(base) as http:
            async with http.post("/chronicles", json={"name": chronicle}) as created:
                assert created.status == 201, await created.text()
            for c in clients[:active]:
                c.call("s", "subscribe", {"chronicle": chronicle, "stream": "s", "start": "end"})
            await asyncio.gather(*(c.wait_caught_up(1, 120) for c in clients[:active]))
            events = [{"type": "bench", "data": {"n": n}} for n in range(EVENTS)]
            path = f"/chronicles/{chronicle}/streams/s/events"
            async with http.post(path, json={"events": events}) as response:
                assert response.status == 201, await response.text()
        await asyncio.gather(*(c.wait_events(EVENTS, 120) for c in clients[:active]))
        return empty, holding, await _settled_rss(pid)
    finally:
        for c in clients:
            c.close()


def run(
    url: str, smoke: bool, workers: int, idle: int = 10_000, active: int = 1000
) -> list[Figure]:
    raise_open_files_limit()
    idle, active = (50, 10) if smoke else (idle, active)
    with broadcast_server() as (ceiling_url, ceiling_pid):
        c_empty, c_idle, c_active = asyncio.run(
            ceiling_memory(ceiling_url, ceiling_pid, idle, active)
        )
    with chronicle_server(url, workers) as server:
        base, pid = server.base, server.pid
        empty, holding, busy = asyncio.run(chronicle_memory(base, pid, idle, active))
    print(f"bare websockets: {c_empty:.0f} MiB empty, {c_idle:.0f} idle, {c_active:.0f} active")
    print(f"Chronicle: {empty:.0f} MiB empty, {holding:.0f} idle, {busy:.0f} active", flush=True)
    per = (holding - empty) * 1024 / idle
    c_per = (c_idle - c_empty) * 1024 / idle
    return [
        Figure(
            f"7. server RSS, {idle:,} idle WebSocket connections",
            holding,
            "MiB",
            f"bare websockets server, {idle:,} connections",
            c_idle,
            "< 1024 MiB",
            f"{workers} worker(s); {empty:.0f} MiB before connecting; {per:.0f} KiB per "
            f"connection (bare: {c_per:.0f} KiB)",
            higher_is_better=False,
        ),
        Figure(
            f"7. server RSS, + {active:,} active subscriptions ({EVENTS} events each)",
            busy,
            "MiB",
            f"bare server after {EVENTS} frames to {active:,} of them",
            c_active,
            "(none)",
            "subscriptions on one stream, one per connection",
            higher_is_better=False,
        ),
    ]


def main(idle: int = 10_000, active: int = 1000, workers: int = 1, smoke: bool = False) -> None:
    with bench_database() as url:
        print(markdown(run(url, smoke, workers, idle=idle, active=active)))


if __name__ == "__main__":
    typer.run(main)
