"""Publish over HTTP vs. raw asyncpg inserts into the same database, measured back to back.

    python -m bench.publish_http [--seconds 5] [--clients 64] [--rounds 2] [--workers 1]
                                 [--batch 100]

Uses CHRONICLE_BENCH_DATABASE_URL (a server's maintenance database) or an embedded
PostgreSQL. Each round alternates ceiling and Chronicle runs so both come from one time
window, and prints every figure beside its ceiling:
1. single-event publishes to distinct streams vs. one-row-per-transaction INSERTs from as
   many asyncpg connections into a table shaped like the events table;
3. ``--batch``-event publishes vs. ``--batch``-row ``unnest`` INSERTs per transaction.
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


async def raw_inserts(url: str, clients: int, seconds: float, batch: int = 1) -> float:
    """Rows/s of ``batch``-row transactions into a copy of the events table (the ceiling):
    one INSERT per row for 1, else one ``unnest`` INSERT per transaction."""
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
        while batch > 1 and time.perf_counter() < deadline:
            versions = list(range(version, version + batch))
            await conn.execute(
                "INSERT INTO bench_raw (position, event_id, chronicle_id, stream_id, version, type,"
                " data, content_type, metadata, recorded_at) SELECT nextval('bench_raw_seq'),"
                " id, 1, $2, v, 'bench', '{\"n\": 1}', 'application/json', '{}', $3"
                " FROM unnest($1::uuid[], $4::bigint[]) AS u(id, v)",
                [uuid.uuid4() for _ in versions],
                n,
                time.time_ns(),
                versions,
            )
            version += batch
            counts[n] += batch
        while batch == 1 and time.perf_counter() < deadline:
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


async def http_publish(
    base: str, clients: int, seconds: float, batch: int = 1
) -> tuple[float, float, float]:
    """Events/s and p50/p99 request latency (ms) of ``batch``-event publishes to distinct
    streams."""
    chronicle = f"bench-{uuid.uuid4().hex[:8]}"
    latencies: list[float] = []
    # aiohttp, not httpx: httpx's connection pool becomes the bottleneck at 64 connections.
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base, connector=connector) as http:
        async with http.post("/chronicles", json={"name": chronicle}) as created:
            assert created.status == 201, await created.text()
        deadline = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            body = orjson.dumps({"events": [{"type": "bench", "data": {"n": 1}}] * batch})
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
    return len(latencies) * batch / elapsed, q[49] * 1000, q[98] * 1000


async def wait_ready(base: str) -> None:
    async with asyncio.timeout(30), httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(f"{base}/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


def main(
    seconds: float = 5.0,
    clients: int = 64,
    rounds: int = 2,
    workers: int = 1,
    batch: int = 100,
) -> None:
    with bench_database() as url:
        _measure(url, seconds, clients, rounds, workers, batch)


def _measure(url: str, seconds: float, clients: int, rounds: int, workers: int, batch: int) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CHRONICLE_DATABASE_URL": url,
        "CHRONICLE_PORT": str(port),
        "CHRONICLE_WORKERS": str(workers),
        "CHRONICLE_LOG_LEVEL": "warning",
        # Throughput of the store, not of the key check: the benchmark runs without auth.
        "CHRONICLE_AUTH_ENABLED": "false",
    }
    server = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, float, float, float, float]] = []
    figures = [
        (f"1. single-event publish, {clients} clients", 1),
        (f"3. {batch}-event publish, {clients} clients", batch),
    ]
    try:
        asyncio.run(wait_ready(base))
        for r in range(rounds):
            for name, size in figures:
                ceiling = asyncio.run(raw_inserts(url, clients, seconds, size))
                rate, p50, p99 = asyncio.run(http_publish(base, clients, seconds, size))
                rows.append((name, ceiling, rate, p50, p99))
                print(
                    f"round {r + 1}, {name}: raw {ceiling:,.0f} rows/s, publish "
                    f"{rate:,.0f} events/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms), "
                    f"ratio {rate / ceiling:.2f}",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait()
    print(f"\n{workers} worker(s); ceiling: raw asyncpg inserts, same rows per transaction\n")
    print("| figure | ceiling (rows/s) | Chronicle (events/s) | p50 ms | p99 ms | ratio |")
    print("|---|---|---|---|---|---|")
    for name, ceiling, rate, p50, p99 in rows:
        print(
            f"| {name} | {ceiling:,.0f} | {rate:,.0f} | {p50:.1f} | {p99:.1f} "
            f"| {rate / ceiling:.2f} |"
        )


if __name__ == "__main__":
    typer.run(main)
