"""In-process group-commit throughput: N tasks, each appending 1 event at a time to its own
pre-created stream through GroupCommitter, for a few seconds.

    python -m bench.group_commit [--seconds 3] [--clients 64]

Uses CHRONICLE_BENCH_DATABASE_URL (a server's maintenance database) or an embedded
PostgreSQL; creates, migrates and drops its own database.
"""

import asyncio
import time
import uuid

import asyncpg
import typer

from app.domain.events import NewEvent
from app.domain.expected_version import ExpectedState
from app.storage.catalog import create_chronicle
from app.storage.group_commit import GroupCommitter
from bench.database import bench_database


def _event() -> NewEvent:
    return NewEvent(uuid.uuid4(), "bench", '{"n": 1}', None, "application/json", "{}", None, None)


async def run(url: str, clients: int, seconds: float) -> float:
    async with asyncpg.create_pool(url, min_size=2, max_size=8) as pool:
        chronicle = f"bench-{uuid.uuid4().hex[:8]}"
        await create_chronicle(pool, chronicle, {})
        committer = GroupCommitter(pool)
        committer.start()
        try:
            for n in range(clients):
                await committer.append(chronicle, f"s{n}", [_event()], ExpectedState.NO_STREAM)
            counts = [0] * clients
            deadline = time.perf_counter() + seconds

            async def worker(n: int) -> None:
                version = 0
                while time.perf_counter() < deadline:
                    await committer.append(
                        chronicle, f"s{n}", [_event()], version, check_duplicates=False
                    )
                    version += 1
                    counts[n] += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker(n) for n in range(clients)))
            return sum(counts) / (time.perf_counter() - started)
        finally:
            await committer.stop()


def main(seconds: float = 3.0, clients: int = 64, rounds: int = 3) -> None:
    with bench_database() as url:
        for r in range(rounds):
            rate = asyncio.run(run(url, clients, seconds))
            print(f"round {r + 1}: {rate:,.0f} appends/s", flush=True)


if __name__ == "__main__":
    typer.run(main)
