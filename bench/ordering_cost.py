"""What the gap-free global order costs: group commit with and without the append lock.

Two GroupCommitters on one database, each with its own pool, stand for two server
processes; 64 tasks append one event at a time to their own streams with exact expected
versions, for a few seconds, first with the lock (as in production), then without it
(``ordered=False``, a switch only this benchmark sets), alternately.
"""

import asyncio
import time
import uuid

import asyncpg

from app.domain.events import NewEvent
from app.domain.expected_version import ExpectedState
from app.storage.catalog import create_chronicle
from app.storage.group_commit import GroupCommitter
from bench.report import Figure

# The servers' worker count does not matter: this runs in-process.
WORKER_SENSITIVE = False
CLIENTS = 64
COMMITTERS = 2


def _event() -> NewEvent:
    return NewEvent(uuid.uuid4(), "bench", '{"n": 1}', None, "application/json", "{}", None, None)


async def group_commit_rate(url: str, clients: int, seconds: float, ordered: bool) -> float:
    """Appends/s through COMMITTERS group committers, with or without the append lock."""
    pools = [await asyncpg.create_pool(url, min_size=2, max_size=4) for _ in range(COMMITTERS)]
    committers = [GroupCommitter(p, ordered=ordered) for p in pools]
    for committer in committers:
        committer.start()
    try:
        chronicle = f"bench-{uuid.uuid4().hex[:8]}"
        await create_chronicle(pools[0], chronicle, {})
        await asyncio.gather(
            *(
                committers[n % COMMITTERS].append(
                    chronicle, f"s{n}", [_event()], ExpectedState.NO_STREAM
                )
                for n in range(clients)
            )
        )
        counts = [0] * clients

        async def worker(n: int, deadline: float) -> None:
            committer = committers[n % COMMITTERS]
            while time.perf_counter() < deadline:
                await committer.append(
                    chronicle, f"s{n}", [_event()], counts[n], check_duplicates=False
                )
                counts[n] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(n, started + seconds) for n in range(clients)))
        return sum(counts) / (time.perf_counter() - started)
    finally:
        for committer in committers:
            await committer.stop()
        for pool in pools:
            await pool.close()


def run(url: str, smoke: bool, workers: int) -> list[Figure]:
    clients = 4 if smoke else CLIENTS
    seconds = 0.3 if smoke else 5.0
    rounds = 1 if smoke else 3
    with_lock: list[float] = []
    without: list[float] = []
    for r in range(rounds):
        with_lock.append(asyncio.run(group_commit_rate(url, clients, seconds, True)))
        without.append(asyncio.run(group_commit_rate(url, clients, seconds, False)))
        print(
            f"  round {r + 1}: with the append lock {with_lock[-1]:,.0f}/s, "
            f"without {without[-1]:,.0f}/s",
            flush=True,
        )
    return [
        Figure(
            f"gap-free order: group commit with the append lock, {COMMITTERS} committers, "
            f"{clients} tasks",
            sum(with_lock) / len(with_lock),
            "appends/s",
            "same path without the lock",
            sum(without) / len(without),
            "≥ 0.90",
            "in-process; two committers stand for two server processes",
        )
    ]
