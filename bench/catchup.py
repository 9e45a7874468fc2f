"""Figure 5: a catch-up subscription over 1,000,000 stored events on one WebSocket, beside
raw sequential reads of the events table (1,000-row pages, jsonb as text) on asyncpg.

    python -m bench.catchup [--events 1000000] [--rounds 2] [--workers 1] [--smoke]

Uses CHRONICLE_BENCH_DATABASE_URL (a server's maintenance database) or an embedded
PostgreSQL. Rounds alternate ceiling and Chronicle runs back to back.
"""

import asyncio
import statistics
import time

import asyncpg
import typer

from bench.big_chronicle import ensure_loaded
from bench.database import bench_database
from bench.report import Figure, markdown
from bench.servers import chronicle_server
from bench.ws_client import open_client

EVENT_MARKER = b'"kind":"event"'


async def raw_sequential_reads(url: str, events: int, page: int = 1000) -> float:
    """Rows/s of keyset pages over the events table in position order, jsonb as text."""
    conn = await asyncpg.connect(url)
    try:
        cursor, read = 0, 0
        started = time.perf_counter()
        while read < events:
            rows = await conn.fetch(
                "SELECT position, event_id, chronicle_id, stream_id, version, type, "
                "data::text AS data, content_type, metadata::text AS metadata, recorded_at, "
                "source_timestamp, client_id FROM events WHERE position > $1 "
                "ORDER BY position LIMIT $2",
                cursor,
                page,
            )
            if not rows:
                break
            read += len(rows)
            cursor = rows[-1]["position"]
        return read / (time.perf_counter() - started)
    finally:
        await conn.close()


async def subscription_catch_up(base: str, chronicle: str, events: int) -> float:
    """Events/s of one subscription from the start of ``chronicle`` until all arrived."""
    ws = await open_client(base.replace("http://", "ws://") + "/ws", EVENT_MARKER)
    try:
        started = time.perf_counter()
        ws.call("c", "subscribe", {"chronicle": chronicle, "start": "start"})
        await ws.wait_events(events, timeout=max(60.0, events / 2000))
        return events / (time.perf_counter() - started)
    finally:
        ws.close()


def run(
    url: str, smoke: bool, workers: int, events: int | None = None, rounds: int = 2
) -> list[Figure]:
    """Figure 5 for ``url``'s database (loads the big chronicle once if it is missing)."""
    events = events or (2000 if smoke else 1_000_000)
    rounds = 1 if smoke else rounds
    big = asyncio.run(ensure_loaded(url, events))
    ceilings, rates = [], []
    with chronicle_server(url, workers) as server:
        base = server.base
        for r in range(rounds):
            ceilings.append(asyncio.run(raw_sequential_reads(url, events)))
            rates.append(asyncio.run(subscription_catch_up(base, big.name, events)))
            print(
                f"round {r + 1}: raw reads {ceilings[-1]:,.0f} rows/s, catch-up "
                f"{rates[-1]:,.0f} events/s, ratio {rates[-1] / ceilings[-1]:.2f}",
                flush=True,
            )
    return [
        Figure(
            figure=f"5. catch-up subscription, {events:,} stored events, one WebSocket",
            value=statistics.mean(rates),
            unit="events/s",
            ceiling_name="raw sequential reads (1,000-row pages, jsonb as text)",
            ceiling=statistics.mean(ceilings),
            target=">= 0.40",
            notes=f"mean of {rounds} alternating rounds, {workers} worker(s)",
        )
    ]


def main(events: int = 1_000_000, rounds: int = 2, workers: int = 1, smoke: bool = False) -> None:
    with bench_database() as url:
        print(markdown(run(url, smoke, workers, events=None if smoke else events, rounds=rounds)))


if __name__ == "__main__":
    typer.run(main)
