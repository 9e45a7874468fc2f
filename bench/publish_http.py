"""Figures 1 and 3: publish over HTTP beside raw asyncpg inserts and a no-op FastAPI route.

Each round runs, back to back: the raw ceiling R (one-row-per-transaction INSERTs from as
many asyncpg connections as there are clients, into a table shaped like the events table),
the no-op route, and Chronicle's single-event publish to distinct streams (figure 1); then
the raw 100-row ``unnest`` ceiling and Chronicle's 100-event publish (figure 3).
"""

import asyncio
import time
import uuid
from collections.abc import Callable

import asyncpg
import httpx

from app.domain.credentials import new_key
from bench.http_load import LoadResult, json_body, post, run_load
from bench.report import Figure
from bench.servers import Server, chronicle_server, noop_server

CLIENTS = 64
BATCH = 100


async def raw_inserts(url: str, clients: int, seconds: float, batch: int = 1) -> float:
    """Rows/s of ``batch``-row transactions into a copy of the events table (the ceiling):
    one INSERT per row for 1, else one ``unnest`` INSERT per transaction."""
    setup = await asyncpg.connect(url)
    await setup.execute(
        "DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw (LIKE events INCLUDING ALL);"
        "CREATE SEQUENCE IF NOT EXISTS bench_raw_seq"
    )
    await setup.close()
    counts = [0] * clients

    async def worker(n: int, conn: asyncpg.Connection, deadline: float) -> None:
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
        deadline = started + seconds
        await asyncio.gather(*(worker(n, c, deadline) for n, c in enumerate(conns)))
        elapsed = time.perf_counter() - started
        for c in conns:
            await pool.release(c)
    return sum(counts) / elapsed


async def create_chronicle(server: Server, headers: dict[str, str] | None = None) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=server.base, headers=headers) as http:
        response = await http.post("/chronicles", json={"name": name})
        assert response.status_code == 201, response.text
    return name


def publisher(
    chronicle: str, batch: int, key: str | None = None
) -> Callable[[int], Callable[[bytes | None], bytes]]:
    """Client n publishes ``batch`` events at a time to its own stream s{n} (with ``key``
    as its bearer token, when given)."""
    body = json_body({"events": [{"type": "bench", "data": {"n": 1}}] * batch})
    extra = "" if key is None else f"Authorization: Bearer {key}\r\n"

    def make(n: int) -> Callable[[bytes | None], bytes]:
        raw = post(f"/chronicles/{chronicle}/streams/s{n}/events", body, extra=extra)
        return lambda _previous: raw

    return make


async def http_publish(
    server: Server, clients: int, seconds: float, batch: int, chronicle: str | None = None
) -> LoadResult:
    """``batch``-event publishes from ``clients`` connections, each to its own stream."""
    chronicle = chronicle or await create_chronicle(server)
    result = await run_load(server.port, clients, seconds, publisher(chronicle, batch))
    bad = {s: n for s, n in result.statuses.items() if s not in (200, 201)}
    assert not bad, f"publish answered {bad}"
    return result


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def auth_cost(
    url: str, workers: int, clients: int, seconds: float, rounds: int
) -> tuple[float, float]:
    """Single-event publishes/s with auth off, and on with a bearer key on every request
    (as deployed by default), servers alternated round by round. One server at a time: two
    servers' pools beside 64 more connections would not fit in max_connections."""
    key = new_key().token
    opened: list[float] = []
    secured: list[float] = []
    for _ in range(rounds):
        with chronicle_server(url, workers) as server:
            name = asyncio.run(create_chronicle(server))
            asyncio.run(http_publish(server, clients, min(seconds, 1.0), 1, name))
            opened.append(asyncio.run(http_publish(server, clients, seconds, 1, name)).rate)
        with chronicle_server(url, workers, auth_enabled="true", admin_key=key) as server:
            name = asyncio.run(create_chronicle(server, {"Authorization": f"Bearer {key}"}))
            load = publisher(name, 1, key)
            asyncio.run(run_load(server.port, clients, min(seconds, 1.0), load))
            checked = asyncio.run(run_load(server.port, clients, seconds, load))
            assert set(checked.statuses) <= {201}, checked.statuses
            secured.append(checked.rate)
        print(f"  auth off {opened[-1]:,.0f}/s, on {secured[-1]:,.0f}/s", flush=True)
    return _mean(opened), _mean(secured)


def run(url: str, smoke: bool, workers: int) -> list[Figure]:
    clients = 4 if smoke else CLIENTS
    seconds = 0.3 if smoke else 5.0
    rounds = 1 if smoke else 2
    batch = 5 if smoke else BATCH
    w = f"{workers} worker{'s' if workers > 1 else ''}"
    r1: list[float] = []
    noop: list[float] = []
    single: list[LoadResult] = []
    r100: list[float] = []
    batched: list[LoadResult] = []
    with chronicle_server(url, workers) as chronicle, noop_server(workers) as noop_app:
        name = asyncio.run(create_chronicle(chronicle))
        # Warm up: create the streams and let every worker settle.
        asyncio.run(http_publish(chronicle, clients, min(seconds, 1.0), 1, name))
        asyncio.run(run_load(noop_app.port, clients, min(seconds, 1.0), publisher(name, 1)))
        for r in range(rounds):
            r1.append(asyncio.run(raw_inserts(url, clients, seconds)))
            noop.append(
                asyncio.run(run_load(noop_app.port, clients, seconds, publisher(name, 1))).rate
            )
            single.append(asyncio.run(http_publish(chronicle, clients, seconds, 1, name)))
            r100.append(asyncio.run(raw_inserts(url, clients, seconds, batch)))
            batched.append(asyncio.run(http_publish(chronicle, clients, seconds, batch, name)))
            print(
                f"  round {r + 1} ({w}): R {r1[-1]:,.0f}/s, no-op {noop[-1]:,.0f}/s, "
                f"publish {single[-1].rate:,.0f}/s; R{batch} {r100[-1]:,.0f} rows/s, "
                f"{batch}-event publish {batched[-1].rate * batch:,.0f} events/s",
                flush=True,
            )
    opened, secured = auth_cost(url, workers, clients, seconds, rounds)
    rate1 = _mean([s.rate for s in single])
    latency = (
        f"p50 {_mean([s.percentile_ms(50) for s in single]):.1f} ms, "
        f"p99 {_mean([s.percentile_ms(99) for s in single]):.1f} ms"
    )
    rate3 = _mean([b.rate * batch for b in batched])
    latency3 = (
        f"p50 {_mean([b.percentile_ms(50) for b in batched]):.1f} ms, "
        f"p99 {_mean([b.percentile_ms(99) for b in batched]):.1f} ms"
    )
    return [
        Figure(
            f"1. single-event publish, HTTP, {clients} clients, {w}",
            rate1,
            "events/s",
            f"R: raw 1-row INSERT tx, {clients} conns",
            _mean(r1),
            "≥ 0.60 (stretch 1.0)",
            latency,
        ),
        Figure(
            f"1. single-event publish, HTTP, {clients} clients, {w}",
            rate1,
            "events/s",
            f"FastAPI no-op POST (PublishIn), {w}",
            _mean(noop),
            "≥ 0.80",
            latency,
        ),
        Figure(
            f"1c. single-event publish with auth on (bearer key), {w}",
            secured,
            "events/s",
            "the same publish with auth off, alternated with it",
            opened,
            "(the cost of auth)",
            "key verified once, then cached",
        ),
        Figure(
            f"3. {batch}-event publish, HTTP, {clients} clients, {w}",
            rate3,
            "events/s",
            f"raw {batch}-row unnest INSERT tx, {clients} conns",
            _mean(r100),
            "≥ 0.50",
            latency3,
        ),
    ]
