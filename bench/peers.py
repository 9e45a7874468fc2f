"""Peers, side by side with Chronicle: Message DB's ``write_message()`` called over asyncpg,
and the Python ``eventsourcing`` PostgreSQL recorder, each beside the raw ceiling R and
beside Chronicle's single-event HTTP publish (figure 1's load) from the same run.

Each writes one event per call to its own stream (64 writers): Message DB's streams share
one category (``bench-N``), as an entity's streams do; ``eventsourcing`` writes from 64
threads through its own connection pool (its recorder is synchronous, psycopg 3).
``eventsourcing`` is the ``bench`` extra: ``pip install -e '.[bench]'``.
"""

import asyncio
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg

from bench.publish_http import http_publish, raw_inserts
from bench.report import Figure
from bench.servers import chronicle_server

CLIENTS = 64
MESSAGE_DB_SQL = Path(__file__).with_name("message_db.sql")


async def message_db_writes(url: str, clients: int, seconds: float) -> float:
    """write_message() calls/s, one message each, from ``clients`` connections."""
    setup = await asyncpg.connect(url)
    await setup.execute(MESSAGE_DB_SQL.read_text())
    await setup.close()
    count = 0
    run_id = uuid.uuid4().hex[:6]

    async def worker(n: int, conn: asyncpg.Connection, deadline: float) -> None:
        nonlocal count
        stream = f"bench-{run_id}{n}"
        while time.perf_counter() < deadline:
            await conn.fetchval(
                "SELECT message_store.write_message($1, $2, 'bench', '{\"n\": 1}', '{}')",
                str(uuid.uuid4()),
                stream,
            )
            count += 1

    async with asyncpg.create_pool(url, min_size=clients, max_size=clients) as pool:
        conns = [await pool.acquire() for _ in range(clients)]
        started = time.perf_counter()
        await asyncio.gather(*(worker(n, c, started + seconds) for n, c in enumerate(conns)))
        elapsed = time.perf_counter() - started
        for c in conns:
            await pool.release(c)
    return count / elapsed


def eventsourcing_writes(url: str, clients: int, seconds: float) -> float:
    """Events/s recorded by eventsourcing's PostgresApplicationRecorder, one per call."""
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = urlsplit(url)
    # The embedded PostgreSQL is reached through a socket directory given as ?host=.
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=host,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        pool_size=clients,
    )
    try:
        recorder = PostgresApplicationRecorder(datastore, events_table_name="bench_es_events")
        recorder.create_table()
        counts = [0] * clients
        deadline = time.perf_counter() + seconds
        ready = threading.Barrier(clients)

        def worker(n: int) -> None:
            originator = uuid.uuid4()
            ready.wait()
            while time.perf_counter() < deadline:
                counts[n] += 1
                event = StoredEvent(originator, counts[n], "bench:Event", b'{"n": 1}')
                recorder.insert_events([event])

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(worker, range(clients)))
        return sum(counts) / (time.perf_counter() - started)
    finally:
        datastore.close()


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def run(url: str, smoke: bool, workers: int) -> list[Figure]:
    clients = 4 if smoke else CLIENTS
    seconds = 0.3 if smoke else 5.0
    rounds = 1 if smoke else 2
    w = f"{workers} worker{'s' if workers > 1 else ''}"
    r1: list[float] = []
    mdb: list[float] = []
    es: list[float] = []
    ours: list[float] = []
    with chronicle_server(url, workers) as server:
        asyncio.run(http_publish(server, clients, min(seconds, 1.0), 1))  # warm up
        for r in range(rounds):
            r1.append(asyncio.run(raw_inserts(url, clients, seconds)))
            mdb.append(asyncio.run(message_db_writes(url, clients, seconds)))
            es.append(eventsourcing_writes(url, clients, seconds))
            ours.append(asyncio.run(http_publish(server, clients, seconds, 1)).rate)
            print(
                f"  round {r + 1} ({w}): R {r1[-1]:,.0f}/s, Message DB {mdb[-1]:,.0f}/s, "
                f"eventsourcing {es[-1]:,.0f}/s, Chronicle HTTP {ours[-1]:,.0f}/s",
                flush=True,
            )
    r_name = f"R: raw 1-row INSERT tx, {clients} conns"
    chronicle = _mean(ours)
    return [
        Figure(
            f"peer: Message DB write_message() over asyncpg, {clients} conns",
            _mean(mdb),
            "events/s",
            r_name,
            _mean(r1),
            "(peer)",
            "one category lock for all writers",
        ),
        Figure(
            f"peer: eventsourcing PostgresApplicationRecorder, {clients} threads",
            _mean(es),
            "events/s",
            r_name,
            _mean(r1),
            "(peer)",
            "insert_events, one event per call",
        ),
        Figure(
            f"Chronicle HTTP single-event publish vs Message DB, {w}",
            chronicle,
            "events/s",
            "Message DB write_message(), same run",
            _mean(mdb),
            "> 1.0",
        ),
        Figure(
            f"Chronicle HTTP single-event publish vs eventsourcing, {w}",
            chronicle,
            "events/s",
            "eventsourcing recorder, same run",
            _mean(es),
            "> 1.0",
        ),
    ]
