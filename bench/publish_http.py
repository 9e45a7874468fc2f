"""Single-event publish over HTTP vs. raw asyncpg inserts, measured back to back.

    python -m bench.publish_http [--seconds 5] [--clients 64] [--rounds 2]

Uses CHRONICLE_BENCH_DATABASE_URL (a server's maintenance database) or an embedded
PostgreSQL. Prints each figure beside its same-run ceiling: one-row-per-transaction
INSERTs from 64 asyncpg connections into a table shaped like the events table.
"""

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid

import aiohttp
import asyncpg
import httpx
import orjson
import typer

from bench.database import bench_database
from tests.conftest import free_port


async def raw_inserts(url: str, clients: int, seconds: float) -> float:
    """Rows/s of one-row transactions into a copy of the events table (the ceiling)."""
    setup = await asyncpg.connect(url)
    await setup.execute(
        "DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw (LIKE events INCLUDING ALL)"
    )
    await setup.execute("CREATE SEQUENCE IF NOT EXISTS bench_raw_seq")
    await setup.close()
    deadline = time.perf_counter() + seconds
    counts = [0] * clients

    async def worker(n: int, conn: asyncpg.Connection) -> None:
        version = 0
        while time.perf_counter() < deadline:
            await conn.execute(
                "INSERT INTO bench_raw (position, event_id, chronicle_id, stream_id, version, type,"
                " data, content_type, metadata, recorded_at) VALUES (nextval('bench_raw_seq'),"
                " $1, 1, $2, $3, 'bench', '{\"n\": 1}', 'application/json', '{}', $4)",
                uuid.uuid4(),
                n,
                version,
                time.time_ns(),
            )
            version += 1
            counts[n] += 1

    async with asyncpg.create_pool(url, min_size=clients, max_size=clients) as pool:
        conns = [await pool.acquire() for _ in range(clients)]
        started = time.perf_counter()
        await asyncio.gather(*(worker(n, c) for n, c in enumerate(conns)))
        elapsed = time.perf_counter() - started
        for c in conns:
            await pool.release(c)
    return sum(counts) / elapsed


async def http_publish(base: str, clients: int, seconds: float) -> tuple[float, float, float]:
    """Events/s and p50/p99 latency (ms) of single-event publishes to distinct streams."""
    chronicle = f"bench-{uuid.uuid4().hex[:8]}"
    latencies: list[float] = []
    # aiohttp, not httpx: httpx's connection pool becomes the bottleneck at 64 connections.
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base, connector=connector) as http:
        async with http.post("/chronicles", json={"name": chronicle}) as created:
            assert created.status == 201, await created.text()
        deadline = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            body = orjson.dumps({"events": [{"type": "bench", "data": {"n": 1}}]})
            headers = {"content-type": "application/json"}
            url = f"/chronicles/{chronicle}/streams/s{n}/events"
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 201, response.status
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, q[49] * 1000, q[98] * 1000


async def wait_ready(base: str) -> None:
    async with asyncio.timeout(30), httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(f"{base}/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


def main(seconds: float = 5.0, clients: int = 64, rounds: int = 2) -> None:
    with bench_database() as url:
        _measure(url, seconds, clients, rounds)


def _measure(url: str, seconds: float, clients: int, rounds: int) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CHRONICLE_DATABASE_URL": url,
        "CHRONICLE_PORT": str(port),
        "CHRONICLE_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        asyncio.run(wait_ready(base))
        for r in range(rounds):
            ceiling = asyncio.run(raw_inserts(url, clients, seconds))
            rate, p50, p99 = asyncio.run(http_publish(base, clients, seconds))
            rows.append((r + 1, ceiling, rate, p50, p99))
            print(
                f"round {r + 1}: raw {ceiling:,.0f} rows/s, publish {rate:,.0f} events/s "
                f"(p50 {p50:.1f} ms, p99 {p99:.1f} ms), ratio {rate / ceiling:.2f}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()
    print(
        "\n| round | raw asyncpg 1-row tx (rows/s) | HTTP publish (events/s) | p50 | p99 | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for r, ceiling, rate, p50, p99 in rows:
        print(
            f"| {r} | {ceiling:,.0f} | {rate:,.0f} | {p50:.1f} | {p99:.1f} | {rate / ceiling:.2f} |"
        )


if __name__ == "__main__":
    typer.run(main)
