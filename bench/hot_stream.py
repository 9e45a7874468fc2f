"""Figure 2: publishes to one hot stream with exact expected versions, over HTTP.

Every client publishes one event expecting the version it last learned (from its own 201,
or from the ``actual`` of a 409), as an optimistic writer does. The ceiling is the raw rate
of appends that lock the stream's row and write without any check: one statement per
transaction (lock, insert, bump the version) from as many asyncpg connections.
"""

import asyncio
import time
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import orjson

from bench.http_load import json_body, post, run_load
from bench.publish_http import create_chronicle
from bench.report import Figure
from bench.servers import Server, chronicle_server

CLIENTS = 64

_RAW_APPEND = """
WITH s AS (SELECT version FROM bench_hot WHERE id = 1 FOR UPDATE),
i AS (
    INSERT INTO bench_raw (position, event_id, chronicle_id, stream_id, version, type, data,
                           content_type, metadata, recorded_at)
    SELECT nextval('bench_raw_seq'), $1, 1, 1, s.version + 1, 'bench', '{"n": 1}',
           'application/json', '{}', $2
    FROM s
)
UPDATE bench_hot SET version = s.version + 1 FROM s WHERE bench_hot.id = 1
"""


async def raw_locked_appends(url: str, clients: int, seconds: float) -> float:
    """Appends/s to one row-locked stream, no expected-version check (the ceiling)."""
    setup = await asyncpg.connect(url)
    await setup.execute(
        "DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw (LIKE events INCLUDING ALL);"
        "CREATE SEQUENCE IF NOT EXISTS bench_raw_seq;"
        "DROP TABLE IF EXISTS bench_hot;"
        "CREATE TABLE bench_hot (id int PRIMARY KEY, version bigint);"
        "INSERT INTO bench_hot VALUES (1, -1)"
    )
    await setup.close()
    count = 0

    async def worker(conn: asyncpg.Connection, deadline: float) -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await conn.execute(_RAW_APPEND, uuid.uuid4(), time.time_ns())
            count += 1

    async with asyncpg.create_pool(url, min_size=clients, max_size=clients) as pool:
        conns = [await pool.acquire() for _ in range(clients)]
        started = time.perf_counter()
        await asyncio.gather(*(worker(c, started + seconds) for c in conns))
        elapsed = time.perf_counter() - started
        for c in conns:
            await pool.release(c)
    return count / elapsed


EVENT = [{"type": "bench", "data": {"n": 1}}]


def _optimistic_writer(path: str) -> Callable[[int], Callable[[bytes | None], bytes]]:
    def make(_n: int) -> Callable[[bytes | None], bytes]:
        known = 0

        def next_request(previous: bytes | None) -> bytes:
            nonlocal known
            if previous:
                answer = orjson.loads(previous)
                if "stream_version" in answer:
                    known = answer["stream_version"]
                elif answer.get("details", {}).get("actual") is not None:
                    known = answer["details"]["actual"]
            return post(path, json_body({"expected_version": known, "events": EVENT}))

        return next_request

    return make


def _any_writer(path: str) -> Callable[[int], Callable[[bytes | None], bytes]]:
    raw = post(path, json_body({"expected_version": "any", "events": EVENT}))
    return lambda _n: lambda _previous: raw


async def hot_publish(
    server: Server, clients: int, seconds: float, exact: bool = True
) -> tuple[float, float]:
    """Successful appends/s and the conflict rate (409s / requests)."""
    chronicle = await create_chronicle(server)
    path = f"/chronicles/{chronicle}/streams/hot/events"
    async with httpx.AsyncClient(base_url=server.base) as http:
        created = await http.post(path, json={"expected_version": "no_stream", "events": EVENT})
        assert created.status_code == 201, created.text
    writer = _optimistic_writer(path) if exact else _any_writer(path)
    result = await run_load(server.port, clients, seconds, writer)
    unexpected = {s: n for s, n in result.statuses.items() if s not in (201, 409)}
    assert not unexpected, f"hot publish answered {unexpected}"
    ok = result.statuses.get(201, 0)
    return ok / result.seconds, result.statuses.get(409, 0) / max(result.requests, 1)


def run(url: str, smoke: bool, workers: int) -> list[Figure]:
    clients = 4 if smoke else CLIENTS
    seconds = 0.3 if smoke else 5.0
    rounds = 1 if smoke else 2
    w = f"{workers} worker{'s' if workers > 1 else ''}"
    ceilings: list[float] = []
    rates: list[float] = []
    conflicts: list[float] = []
    unchecked: list[float] = []
    with chronicle_server(url, workers) as server:
        asyncio.run(hot_publish(server, clients, min(seconds, 1.0)))  # warm up
        for r in range(rounds):
            ceilings.append(asyncio.run(raw_locked_appends(url, clients, seconds)))
            rate, conflict = asyncio.run(hot_publish(server, clients, seconds))
            rates.append(rate)
            conflicts.append(conflict)
            unchecked.append(asyncio.run(hot_publish(server, clients, seconds, exact=False))[0])
            print(
                f"  round {r + 1} ({w}): raw locked {ceilings[-1]:,.0f}/s, hot publish "
                f"{rate:,.0f} ok/s, {conflict:.0%} conflicts; expecting any {unchecked[-1]:,.0f}/s",
                flush=True,
            )
    return [
        Figure(
            f"2. one hot stream, exact expected versions, HTTP, {clients} clients, {w}",
            sum(rates) / len(rates),
            "ok appends/s",
            "raw row lock + insert, no check, 1 stmt/tx",
            sum(ceilings) / len(ceilings),
            "≥ 1.0",
            f"conflict rate {sum(conflicts) / len(conflicts):.0%}",
        ),
        Figure(
            f"2b. one hot stream, expected version any, HTTP, {clients} clients, {w}",
            sum(unchecked) / len(unchecked),
            "ok appends/s",
            "raw row lock + insert, no check, 1 stmt/tx",
            sum(ceilings) / len(ceilings),
            "(context)",
            "same-stream appends chained in one batch statement",
        ),
    ]
