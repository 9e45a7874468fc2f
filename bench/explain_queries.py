"""EXPLAIN (ANALYZE) of the query shapes over ~100k events, with the exact SQL storage runs.

    python -m bench.explain_queries [--events 100000]

Uses CHRONICLE_BENCH_DATABASE_URL (a server's maintenance database) or an embedded
PostgreSQL; creates a fresh database, appends through the real appender (so
latest_events is kept as in production), then explains each query.
"""

import asyncio
import random
import uuid
from typing import Any

import asyncpg
import typer

from app.domain.events import NewEvent
from app.domain.expected_version import ExpectedState
from app.domain.patterns import parse_patterns
from app.domain.queries import LatestQuery, Order, OrderBy, TimeseriesQuery
from app.storage import appender, queries, reader
from bench.database import bench_database

AREAS = [f"area{i}" for i in range(10)]
KINDS = ["temp", "humidity", "door", "alarm"]


class ExplainingPool:
    """Stands in for the pool: event-returning ``fetch`` calls are explained, not run."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.pool.fetchval(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self.pool.fetchrow(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        plan = await self.pool.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, *args)
        print("\n".join(r[0] for r in plan), end="\n\n", flush=True)
        return []


async def fill(pool: asyncpg.Pool, total: int) -> uuid.UUID:
    """Two chronicles of total/2 events each; returns an event id of the first for a cursor."""
    rng = random.Random(1)
    await pool.execute("INSERT INTO chronicles (name) VALUES ('plant'), ('other')")
    cursor = uuid.uuid4()
    for n in range(total // 500):
        events = [
            NewEvent(
                event_id=cursor if (n, i) == (total // 1000, 0) else uuid.uuid4(),
                type=f"sensor/{rng.choice(AREAS)}/{rng.choice(KINDS)}/{rng.randrange(20)}",
                json_data='{"v": 1}',
                binary_data=None,
                content_type="application/json",
                metadata="{}",
                source_timestamp=rng.randrange(10**18) if rng.random() < 0.9 else None,
                client_id=None,
            )
            for i in range(500)
        ]
        chronicle = "plant" if n % 2 == 0 else "other"
        await appender.append(
            pool, chronicle, f"s{n % 50}", events, ExpectedState.ANY, check_duplicates=False
        )
    await pool.execute("ANALYZE")
    return cursor


async def explain(url: str, total: int) -> None:
    async with asyncpg.create_pool(url) as real:
        cursor = await fill(real, total)
        pool: Any = ExplainingPool(real)
        t_mid = await real.fetchval(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY recorded_at) FROM events"
        )
        shapes: list[tuple[str, Any]] = [
            (
                "latest, types=sensor/area3/*",
                queries.query_latest(
                    pool, LatestQuery("plant", parse_patterns(["sensor/area3/*"]))
                ),
            ),
            ("latest, every type", queries.query_latest(pool, LatestQuery("plant"))),
            (
                "timeseries by recorded_at desc, types=sensor/?/alarm/*, 100 results",
                queries.query_timeseries(
                    pool,
                    TimeseriesQuery("plant", parse_patterns(["sensor/?/alarm/*"]), max_results=100),
                ),
            ),
            (
                "timeseries by recorded_at asc from t_from, after a cursor",
                queries.query_timeseries(
                    pool,
                    TimeseriesQuery(
                        "plant",
                        None,
                        t_from=t_mid,
                        order=Order.ASCENDING,
                        max_results=100,
                        after=cursor,
                    ),
                ),
            ),
            (
                "timeseries by source_timestamp asc in a source window",
                queries.query_timeseries(
                    pool,
                    TimeseriesQuery(
                        "plant",
                        parse_patterns(["sensor/area1/*"]),
                        source_t_from=10**17,
                        source_t_to=5 * 10**17,
                        order=Order.ASCENDING,
                        order_by=OrderBy.SOURCE_TIMESTAMP,
                        max_results=100,
                    ),
                ),
            ),
            (
                "global log, chronicle=plant, types=sensor/area2/door/*",
                reader.read_all(pool, 0, 100, "plant", parse_patterns(["sensor/area2/door/*"])),
            ),
        ]
        for title, call in shapes:
            print(f"== {title}")
            await call


def main(events: int = 100_000) -> None:
    with bench_database() as url:
        asyncio.run(explain(url, events))


if __name__ == "__main__":
    typer.run(main)
