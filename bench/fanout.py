"""Figure 6: live fan-out to 1, 100 and 1,000 subscribers, beside a bare ``websockets``
broadcast of frames of the same shape to as many clients (bench/broadcast_server.py).

    python -m bench.fanout [--subscribers 1,100,1000] [--rounds 2] [--workers 1] [--smoke]

For each subscriber count, ceiling and Chronicle alternate:
- deliveries/s: COUNT events (Chronicle: published 100 per request) reach every subscriber;
- latency p50/p99: single events INTERVAL apart; Chronicle's from ``recorded_at`` (stamped
  in the insert, before the commit) to arrival, the ceiling's from its broadcast stamp;
and once, 64-client HTTP publishes with 1,000 live subscriptions attached (one per stream
of another chronicle, none of them written to) against the same with none, in A-B-B-A
order.
All clients are bench/ws_client.py, in this process, without compression.
"""

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import orjson
import typer

from bench.database import bench_database
from bench.publish_http import http_publish
from bench.report import Figure, markdown
from bench.servers import Server, chronicle_server
from bench.ws_client import (
    FrameCounter,
    open_client,
    open_clients,
    quiet_gc,
    raise_open_files_limit,
)
from tests.conftest import free_port

EVENT_MARKER = b'"kind":"event"'
BATCH = 100

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def broadcast_server() -> Iterator[tuple[str, int]]:
    """The bare websockets ceiling server; yields (ws URL, pid)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.broadcast_server", str(port)], cwd=ROOT, env=os.environ
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait()


class Latencies:
    """Arrival minus the frame's ``recorded_at``, in ms, while ``recording``."""

    def __init__(self) -> None:
        self.recording = False
        self.values: list[float] = []

    def __call__(self, payload: bytes, arrived_ns: int) -> None:
        if self.recording:
            event = orjson.loads(payload)["data"]["event"]
            self.values.append((arrived_ns - event["recorded_at"]) / 1e6)

    def quantiles(self) -> tuple[float, float]:
        q = statistics.quantiles(self.values, n=100)
        return q[49], q[98]


async def _wait_all(clients: list[FrameCounter], count: int, timeout: float) -> None:
    await asyncio.gather(*(c.wait_events(count, timeout) for c in clients))


Measured = tuple[float, float, float]
"""Deliveries/s, then p50 and p99 latency in ms."""


async def ceiling_run(
    url: str, subscribers: int, count: int, paced: int, interval: float
) -> Measured:
    """The bare broadcast to ``subscribers`` clients."""
    latencies = Latencies()
    clients = await open_clients(url + "/", subscribers, EVENT_MARKER, latencies)
    control = await open_client(url + "/control", b"done")
    try:
        await asyncio.sleep(0.2)  # the server has registered every client
        with quiet_gc():
            started = time.perf_counter()
            control.send_text(f"go {count} 0".encode())
            await _wait_all(clients, count, 120)
            rate = subscribers * count / (time.perf_counter() - started)
            latencies.recording = True
            control.send_text(f"go {paced} {round(interval * 1000)}".encode())
            await _wait_all(clients, count + paced, 120)
        return rate, *latencies.quantiles()
    finally:
        for c in [*clients, control]:
            c.close()


async def chronicle_run(
    base: str, subscribers: int, count: int, paced: int, interval: float
) -> Measured:
    """Chronicle's ``subscribers`` subscriptions of one stream, one per connection."""
    chronicle = f"fan-{uuid.uuid4().hex[:8]}"
    latencies = Latencies()
    url = base.replace("http://", "ws://") + "/ws"
    path = f"/chronicles/{chronicle}/streams/hot/events"
    clients = await open_clients(url, subscribers, EVENT_MARKER, latencies)
    try:
        async with aiohttp.ClientSession(base) as http:
            async with http.post("/chronicles", json={"name": chronicle}) as created:
                assert created.status == 201, await created.text()
            for c in clients:
                c.call("s", "subscribe", {"chronicle": chronicle, "stream": "hot", "start": "end"})
            await asyncio.gather(*(c.wait_caught_up(1, 60) for c in clients))
            with quiet_gc():
                started = time.perf_counter()
                for first in range(0, count, BATCH):
                    numbers = range(first, min(count, first + BATCH))
                    events = [{"type": "bench", "data": {"n": n}} for n in numbers]
                    async with http.post(path, json={"events": events}) as response:
                        assert response.status == 201, await response.text()
                await _wait_all(clients, count, 120)
                rate = subscribers * count / (time.perf_counter() - started)
                latencies.recording = True
                for n in range(paced):
                    async with http.post(path, json={"events": [{"type": "t", "data": n}]}) as r:
                        assert r.status == 201, await r.text()
                    await asyncio.sleep(interval)
                await _wait_all(clients, count + paced, 120)
            return rate, *latencies.quantiles()
    finally:
        for c in clients:
            c.close()


async def appends_beside_subscribers(server: Server, subscribers: int, seconds: float) -> float:
    """Events/s of 64-client single-event publishes while ``subscribers`` live
    subscriptions (one per stream of another chronicle, not written to) are attached."""
    base = server.base
    url = base.replace("http://", "ws://") + "/ws"
    chronicle = f"idle-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession(base) as http:
        async with http.post("/chronicles", json={"name": chronicle}) as created:
            assert created.status == 201
    clients = await open_clients(url, subscribers, EVENT_MARKER)
    try:
        for n, c in enumerate(clients):
            c.call("s", "subscribe", {"chronicle": chronicle, "stream": f"s{n}", "start": "end"})
        await asyncio.gather(*(c.wait_caught_up(1, 60) for c in clients))
        with quiet_gc():
            rate = (await http_publish(server, 64, seconds, 1)).rate
        return rate
    finally:
        for c in clients:
            c.close()


def run(
    url: str,
    smoke: bool,
    workers: int,
    subscribers: tuple[int, ...] = (1, 100, 1000),
    rounds: int = 2,
) -> list[Figure]:
    raise_open_files_limit()
    counts = (1, 5) if smoke else subscribers
    rounds = 1 if smoke else rounds
    figures: list[Figure] = []
    with broadcast_server() as (ceiling_url, _), chronicle_server(url, workers) as server:
        base = server.base
        for n in counts:
            count = 20 if smoke else max(200, min(20_000, 200_000 // n))
            paced = 5 if smoke else 40
            interval = 0.01 if smoke else max(0.01, n * 50e-6)
            ceiling, chronicle = [], []
            for r in range(rounds):
                ceiling.append(asyncio.run(ceiling_run(ceiling_url, n, count, paced, interval)))
                chronicle.append(asyncio.run(chronicle_run(base, n, count, paced, interval)))
                print(
                    f"{n} subscribers, round {r + 1}: ceiling {ceiling[-1]}, chronicle "
                    f"{chronicle[-1]} (deliveries/s, p50 ms, p99 ms)",
                    flush=True,
                )
            c_rate, c_p50, c_p99 = (statistics.mean(x) for x in zip(*ceiling, strict=True))
            rate, p50, p99 = (statistics.mean(x) for x in zip(*chronicle, strict=True))
            note = f"{count} events ({BATCH}/publish); mean of {rounds} rounds"
            figures.append(
                Figure(
                    f"6. deliveries, {n} subscriber(s)",
                    rate,
                    "deliveries/s",
                    "bare websockets broadcast",
                    c_rate,
                    ">= 0.85" if n >= 100 else "(none)",
                    note,
                )
            )
            lat_note = f"{paced} single events {interval * 1000:.0f} ms apart"
            figures.append(
                Figure(
                    f"6. commit-to-delivery p50, {n} subscriber(s)",
                    p50,
                    "ms",
                    "broadcast-to-delivery p50",
                    c_p50,
                    "(none)",
                    lat_note,
                    higher_is_better=False,
                )
            )
            figures.append(
                Figure(
                    f"6. commit-to-delivery p99, {n} subscriber(s)",
                    p99,
                    "ms",
                    "broadcast-to-delivery p99",
                    c_p99,
                    "< 20 ms" if n >= 1000 else "(none)",
                    lat_note,
                    higher_is_better=False,
                )
            )
        attached = 10 if smoke else 1000
        seconds = 0.5 if smoke else 5.0
        alone, beside = [], []
        for r in range(rounds):
            # A-B, then B-A: the append rate drifts down within a run (the tables grow, the
            # neighbours' load changes), which a fixed order would count against one side.
            for n in (0, attached) if r % 2 == 0 else (attached, 0):
                rate = asyncio.run(appends_beside_subscribers(server, n, seconds))
                (beside if n else alone).append(rate)
            print(
                f"appends round {r + 1}: alone {alone[-1]:,.0f}/s, "
                f"beside {attached} subscriptions {beside[-1]:,.0f}/s",
                flush=True,
            )
        figures.append(
            Figure(
                f"6. appends with {attached} live subscriptions attached",
                statistics.mean(beside),
                "events/s",
                "the same appends with none",
                statistics.mean(alone),
                ">= 0.90",
                f"64 HTTP clients, single events, {seconds:g} s; mean of {rounds} rounds",
            )
        )
    return figures


def main(
    subscribers: str = "1,100,1000", rounds: int = 2, workers: int = 1, smoke: bool = False
) -> None:
    counts = tuple(int(n) for n in subscribers.split(","))
    with bench_database() as url:
        print(markdown(run(url, smoke, workers, subscribers=counts, rounds=rounds)))


if __name__ == "__main__":
    typer.run(main)
