"""Figure 8: latest and timeseries queries over HTTP on a chronicle of 1,000,000 events,
p50/p99, beside the raw SQL of the same query on asyncpg (no HTTP, no encoding).

    python -m bench.queries [--events 1000000] [--requests 300] [--rounds 2] [--workers 1]
                            [--smoke]

latest: the newest event of every type (20 types over 1,000 streams: 20,000 rows of
latest_events). timeseries: 100 events ascending from a random point of the chronicle's
recorded_at range (the window's first 10 ms). Requests are sequential; rounds alternate
ceiling and Chronicle.
"""

import asyncio
import random
import statistics
import time

import aiohttp
import asyncpg
import typer

from app.storage.queries import _JOINS, _LATEST_ALL
from app.storage.reader import EVENT_COLUMNS
from app.storage.retention import VISIBLE
from bench.big_chronicle import BigChronicle, ensure_loaded
from bench.database import bench_database
from bench.report import Figure, markdown
from bench.servers import chronicle_server

WINDOW_NS = 10_000_000
MAX_RESULTS = 100

# What storage.queries.query_timeseries sends for these parameters (no types, ascending).
TIMESERIES = (
    f"SELECT {EVENT_COLUMNS} FROM events e {_JOINS} WHERE e.chronicle_id = $1 AND {VISIBLE} "
    "AND e.recorded_at >= $2 AND e.recorded_at <= $3 "
    "ORDER BY e.recorded_at ASC, e.position ASC LIMIT $4"
)


def _windows(big: BigChronicle, count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(big.first_recorded_at, big.last_recorded_at) for _ in range(count)]


async def raw_latencies(
    url: str, big: BigChronicle, requests: int, seed: int
) -> dict[str, list[float]]:
    conn = await asyncpg.connect(url)
    try:
        cid = await conn.fetchval("SELECT id FROM chronicles WHERE name = $1", big.name)
        times: dict[str, list[float]] = {"latest": [], "timeseries": []}
        for _ in range(requests):
            t0 = time.perf_counter()
            rows = await conn.fetch(_LATEST_ALL, cid)
            times["latest"].append((time.perf_counter() - t0) * 1000)
            assert rows
        for start in _windows(big, requests, seed):
            t0 = time.perf_counter()
            await conn.fetch(TIMESERIES, cid, start, start + WINDOW_NS, MAX_RESULTS + 1)
            times["timeseries"].append((time.perf_counter() - t0) * 1000)
        return times
    finally:
        await conn.close()


async def chronicle_latencies(
    base: str, big: BigChronicle, requests: int, seed: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"latest": [], "timeseries": []}
    query = f"/chronicles/{big.name}/query"
    async with aiohttp.ClientSession(base) as http:
        for _ in range(requests):
            t0 = time.perf_counter()
            async with http.get(f"{query}/latest") as response:
                body = await response.read()
                assert response.status == 200, body[:200]
            times["latest"].append((time.perf_counter() - t0) * 1000)
        for start in _windows(big, requests, seed):
            params = {
                "t_from": start,
                "t_to": start + WINDOW_NS,
                "order": "ascending",
                "max_results": MAX_RESULTS,
            }
            t0 = time.perf_counter()
            async with http.get(f"{query}/timeseries", params=params) as response:
                body = await response.read()
                assert response.status == 200, body[:200]
            times["timeseries"].append((time.perf_counter() - t0) * 1000)
    return times


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def run(
    url: str,
    smoke: bool,
    workers: int,
    events: int | None = None,
    requests: int = 300,
    rounds: int = 2,
) -> list[Figure]:
    events = events or (2000 if smoke else 1_000_000)
    requests, rounds = (20, 1) if smoke else (requests, rounds)
    big = asyncio.run(ensure_loaded(url, events))
    raw: dict[str, list[float]] = {"latest": [], "timeseries": []}
    served: dict[str, list[float]] = {"latest": [], "timeseries": []}
    with chronicle_server(url, workers) as server:
        base = server.base
        asyncio.run(chronicle_latencies(base, big, 5, seed=0))  # warm the pool and caches
        for r in range(rounds):
            for kind, values in asyncio.run(raw_latencies(url, big, requests, seed=r)).items():
                raw[kind] += values
            for kind, values in asyncio.run(chronicle_latencies(base, big, requests, r)).items():
                served[kind] += values
            print(
                f"round {r + 1}: "
                + ", ".join(
                    f"{k} p99 raw {_p(raw[k], 99):.1f} ms / Chronicle {_p(served[k], 99):.1f} ms"
                    for k in raw
                ),
                flush=True,
            )
    figures = []
    for kind in ("latest", "timeseries"):
        for q in (50, 99):
            figures.append(
                Figure(
                    f"8. {kind} query p{q}, {events:,}-event chronicle",
                    _p(served[kind], q),
                    "ms",
                    "the same SQL on asyncpg",
                    _p(raw[kind], q),
                    "< 50 ms" if q == 99 else "(none)",
                    f"{requests * rounds} sequential requests over HTTP, {workers} worker(s)",
                    higher_is_better=False,
                )
            )
    return figures


def main(
    events: int = 1_000_000,
    requests: int = 300,
    rounds: int = 2,
    workers: int = 1,
    smoke: bool = False,
) -> None:
    with bench_database() as url:
        figures = run(url, smoke, workers, None if smoke else events, requests, rounds)
        print(markdown(figures))


if __name__ == "__main__":
    typer.run(main)
