"""A chronicle of many stored events for the read benchmarks, loaded straight into the tables.

One ``INSERT ... SELECT generate_series`` per table instead of the API (1,000,000 events
in well under a minute), keeping the schema's invariants: positions drawn from the
sequence under the append lock and in recorded_at order, ``streams.version`` and its
recorded_at bounds, and ``latest_events``. Loaded once per database: a second call finds
it and returns at once, so the catch-up and query benchmarks of one run share it.
"""

from dataclasses import dataclass

import asyncpg

from app.storage.appender import APPEND_LOCK

STREAMS = 1000
TYPES = 20
STEP_NS = 1000  # recorded_at grows by a microsecond per event


@dataclass(frozen=True)
class BigChronicle:
    name: str
    events: int
    first_recorded_at: int
    last_recorded_at: int


async def ensure_loaded(url: str, events: int) -> BigChronicle:
    """The chronicle ``bench-<events>``: ``events`` events over up to 1,000 streams
    (round robin) and 20 types ``sensor/t<k>``, payloads like ``{"n": 7, "celsius": 3.5}``."""
    name = f"bench-{events}"
    streams = min(STREAMS, events)
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchrow(
            "SELECT min(s.first_recorded_at) AS first, max(s.last_recorded_at) AS last "
            "FROM chronicles c JOIN streams s ON s.chronicle_id = c.id WHERE c.name = $1",
            name,
        )
        if found is None or found["first"] is None:
            await _load(conn, name, events, streams)
            found = await conn.fetchrow(
                "SELECT min(s.first_recorded_at) AS first, max(s.last_recorded_at) AS last "
                "FROM chronicles c JOIN streams s ON s.chronicle_id = c.id WHERE c.name = $1",
                name,
            )
        assert found is not None
        return BigChronicle(name, events, found["first"], found["last"])
    finally:
        await conn.close()


async def _load(conn: asyncpg.Connection, name: str, events: int, streams: int) -> None:
    async with conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit = off")
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
        cid = await conn.fetchval("INSERT INTO chronicles (name) VALUES ($1) RETURNING id", name)
        await conn.execute(
            "INSERT INTO streams (chronicle_id, name) "
            "SELECT $1, 's' || k FROM generate_series(0, $2 - 1) k",
            cid,
            streams,
        )
        first = await conn.fetchval("SELECT nextval('events_position_seq')")
        await conn.execute("SELECT setval('events_position_seq', $1)", first + events - 1)
        base = await conn.fetchval("SELECT (extract(epoch FROM now()) * 1e9)::bigint")
        await conn.execute(
            """
            INSERT INTO events (position, event_id, chronicle_id, stream_id, version, type,
                                data, content_type, metadata, recorded_at)
            SELECT $2::bigint + n, gen_random_uuid(), $1, st.id, n / $3,
                   'sensor/t' || ((n / $3) % $4),
                   jsonb_build_object('n', n, 'celsius', round((n % 400) / 10.0, 1)),
                   'application/json', '{}'::jsonb, $5::bigint + n * $6
            FROM generate_series(0, $7 - 1) n
            JOIN streams st ON st.chronicle_id = $1 AND st.name = 's' || (n % $3)
            ORDER BY n
            """,
            cid,
            first,
            streams,
            TYPES,
            base,
            STEP_NS,
            events,
        )
        await conn.execute(
            """
            UPDATE streams s SET version = agg.last_version, first_recorded_at = agg.first_at,
                last_recorded_at = agg.last_at
            FROM (SELECT stream_id, max(version) AS last_version, min(recorded_at) AS first_at,
                         max(recorded_at) AS last_at
                  FROM events WHERE chronicle_id = $1 GROUP BY stream_id) agg
            WHERE s.id = agg.stream_id
            """,
            cid,
        )
        await conn.execute(
            """
            INSERT INTO latest_events (stream_id, type, chronicle_id, position)
            SELECT DISTINCT ON (stream_id, type) stream_id, type, chronicle_id, position
            FROM events WHERE chronicle_id = $1 ORDER BY stream_id, type, position DESC
            """,
            cid,
        )
    await conn.execute("ANALYZE events; ANALYZE streams; ANALYZE latest_events")
