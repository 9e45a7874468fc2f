"""Many appends in one statement: one round trip and one commit for a whole group-commit batch.

The statement takes the append lock, locks every stream the batch names, checks each
append's expected version in order against the version the appends before it (in this
batch, to the same stream) leave, and writes the appends that pass; each append gets its
own outcome. It handles existing, live streams only: an append to a stream that does not
exist or is deleted, or one whose client-made event ids may repeat an earlier publish, is
left for the savepoint path (storage/appender.py), which creates, recreates and answers
idempotent repeats. A database error (a reused event id, a refused value) writes nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import asyncpg

from app.domain.events import AppendResult, NewEvent
from app.domain.expected_version import ExpectedVersion
from app.storage.appender import APPEND_LOCK, NOTIFY_CHANNEL, written_result


class Outcome(Enum):
    WRITTEN = "written"
    WRONG_VERSION = "wrong_version"
    # Not decided here: run it on the savepoint path.
    ELSEWHERE = "elsewhere"


@dataclass(frozen=True, slots=True)
class BatchAppend:
    chronicle: str
    stream: str
    events: list[NewEvent]
    expected: ExpectedVersion
    # Client-made ids: the append may be an idempotent repeat of an earlier publish.
    ids_given: bool


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    outcome: Outcome
    result: AppendResult | None = None
    # The stream's version this append was checked against (for WRONG_VERSION).
    actual: int | None = None


def _statement(ordered: bool) -> str:
    # The lock is a one-time filter of the stream scan, so it is taken before any stream
    # row lock and before any position is drawn (see APPEND_LOCK for why positions must be
    # drawn under it). The statement runs as its own transaction: the lock is held until
    # its commit. ``ordered=False`` exists only for the benchmark that prices the lock.
    lock_cte = f"lock AS MATERIALIZED (SELECT pg_advisory_xact_lock({APPEND_LOCK})),"
    lock_filter = "(SELECT count(*) FROM lock) = 1 AND"
    return f"""
WITH RECURSIVE {lock_cte if ordered else ""}
a AS MATERIALIZED (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::int[],
                         $6::bool[])
        WITH ORDINALITY AS a(chronicle, stream, kind, n, count, ids_given, idx)
),
st AS MATERIALIZED (
    SELECT s.id, s.chronicle_id, s.version, c.name AS chronicle, s.name AS stream,
           greatest((extract(epoch FROM clock_timestamp()) * 1000000000)::bigint,
                    coalesce(s.last_recorded_at, 0) + 1) AS base
    FROM streams s JOIN chronicles c ON c.id = s.chronicle_id
    WHERE {lock_filter if ordered else ""}
          (c.name, s.name) IN (SELECT chronicle, stream FROM a) AND s.deletion IS NULL
    FOR UPDATE OF s
),
e AS MATERIALIZED (
    SELECT * FROM unnest($7::int[], $8::int[], $9::uuid[], $10::text[], $11::text[],
                         $12::bytea[], $13::text[], $14::text[], $15::bigint[], $16::text[])
        AS e(append, ord, event_id, type, data, data_bin, content_type, metadata,
             source_timestamp, client_id)
),
-- Appends with client-made ids that were written before: idempotent repeats, or reuse.
seen AS MATERIALIZED (
    SELECT DISTINCT e.append FROM e JOIN a ON a.idx = e.append AND a.ids_given
    WHERE EXISTS (SELECT 1 FROM events x WHERE x.event_id = e.event_id)
),
r AS MATERIALIZED (
    SELECT a.idx, a.kind, a.n, a.count, a.ids_given, a.idx IN (SELECT append FROM seen) AS seen,
           st.id AS stream_id, st.chronicle_id, st.version AS v0, st.base,
           row_number() OVER (PARTITION BY st.id ORDER BY a.idx) AS rank
    FROM a JOIN st ON st.chronicle = a.chronicle AND st.stream = a.stream
),
-- Each stream's appends in batch order: each is checked against what those before it left.
chain (idx, stream_id, rank, ok, before, after) AS (
    SELECT r.idx, r.stream_id, r.rank, x.ok, r.v0,
           r.v0 + CASE WHEN x.ok THEN r.count ELSE 0 END
    FROM r, LATERAL (SELECT NOT r.seen AND CASE r.kind
        WHEN 'any' THEN true WHEN 'exists' THEN true WHEN 'empty' THEN r.v0 = -1
        WHEN 'exact' THEN r.v0 = r.n ELSE false END AS ok) x
    WHERE r.rank = 1
    UNION ALL
    SELECT r.idx, r.stream_id, r.rank, x.ok, c.after,
           c.after + CASE WHEN x.ok THEN r.count ELSE 0 END
    FROM chain c JOIN r ON r.stream_id = c.stream_id AND r.rank = c.rank + 1,
         LATERAL (SELECT NOT r.seen AND CASE r.kind
            WHEN 'any' THEN true WHEN 'exists' THEN true WHEN 'empty' THEN c.after = -1
            WHEN 'exact' THEN c.after = r.n ELSE false END AS ok) x
),
ins AS (
    INSERT INTO events (position, event_id, chronicle_id, stream_id, version, type, data,
                        data_bin, content_type, metadata, recorded_at, source_timestamp,
                        client_id)
    SELECT nextval('events_position_seq'), coalesce(e.event_id, gen_random_uuid()),
           r.chronicle_id, r.stream_id,
           c.before + e.ord, e.type, e.data::jsonb, e.data_bin, e.content_type,
           e.metadata::jsonb, r.base + (c.before + e.ord - r.v0 - 1), e.source_timestamp,
           e.client_id
    FROM chain c JOIN r ON r.idx = c.idx JOIN e ON e.append = c.idx
    WHERE c.ok
    ORDER BY c.idx, e.ord
    RETURNING position, stream_id, chronicle_id, version, recorded_at, type, event_id
),
latest AS (
    -- One row per (stream, type): ON CONFLICT may not touch the same row twice. Hashed,
    -- not sorted: this runs under the append lock.
    INSERT INTO latest_events (stream_id, type, chronicle_id, position)
    SELECT stream_id, type, chronicle_id, max(position) FROM ins
    GROUP BY stream_id, type, chronicle_id
    ON CONFLICT (stream_id, type) DO UPDATE SET position = excluded.position
),
upd AS (
    UPDATE streams SET version = f.version, last_recorded_at = f.last,
        first_recorded_at = coalesce(streams.first_recorded_at, f.first)
    FROM (SELECT stream_id, max(version) AS version, max(recorded_at) AS last,
                 min(recorded_at) AS first
          FROM ins GROUP BY stream_id) f
    WHERE streams.id = f.stream_id
    -- Identical notifications of one transaction reach listeners once.
    RETURNING pg_notify('{NOTIFY_CHANNEL}', '')
)
SELECT a.idx, c.ok, c.before, i.version, i.position, i.recorded_at, i.event_id,
       (SELECT count(*) FROM upd) AS updated
FROM a LEFT JOIN chain c ON c.idx = a.idx
LEFT JOIN ins i ON c.ok AND i.stream_id = c.stream_id AND i.version > c.before
               AND i.version <= c.after
ORDER BY a.idx, i.version
"""


ORDERED = _statement(ordered=True)
UNORDERED = _statement(ordered=False)


async def append_batch(
    conn: asyncpg.Connection, appends: Sequence[BatchAppend], *, ordered: bool = True
) -> list[BatchOutcome]:
    """Run ``appends`` as one statement in its own transaction (``conn`` must not be in one):
    everything it writes is committed when this returns. One outcome per append, in order.

    Raises asyncpg.PostgresError, having written nothing, when the database refuses a
    value or an event id (a reused id): the caller redoes the batch on the savepoint path.
    ``ordered=False`` skips the append lock: only for measuring what the lock costs.
    """
    chronicles, streams, kinds, numbers, counts, given = [], [], [], [], [], []
    owners: list[int] = []
    ords: list[int] = []
    ids, types, data, data_bin, content_types, metadata, stamps, clients = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    )
    for number, append in enumerate(appends, 1):
        chronicles.append(append.chronicle)
        streams.append(append.stream)
        if isinstance(append.expected, int):
            kinds.append("exact")
            numbers.append(append.expected)
        else:
            kinds.append(append.expected.value)
            numbers.append(None)
        counts.append(len(append.events))
        given.append(append.ids_given)
        for ord_, event in enumerate(append.events, 1):
            owners.append(number)
            ords.append(ord_)
            ids.append(event.event_id)
            types.append(event.type)
            data.append(event.json_data)
            data_bin.append(event.binary_data)
            content_types.append(event.content_type)
            metadata.append(event.metadata)
            stamps.append(event.source_timestamp)
            clients.append(event.client_id)
    rows = await conn.fetch(
        ORDERED if ordered else UNORDERED,
        chronicles,
        streams,
        kinds,
        numbers,
        counts,
        given,
        owners,
        ords,
        ids,
        types,
        data,
        data_bin,
        content_types,
        metadata,
        stamps,
        clients,
    )
    return _outcomes(appends, rows)


def _outcomes(appends: Sequence[BatchAppend], rows: list[asyncpg.Record]) -> list[BatchOutcome]:
    written: dict[int, list[asyncpg.Record]] = {}
    checks: dict[int, asyncpg.Record] = {}
    for row in rows:
        checks[row["idx"]] = row
        if row["ok"]:
            written.setdefault(row["idx"], []).append(row)
    outcomes: list[BatchOutcome] = []
    for number, append in enumerate(appends, 1):
        check = checks[number]
        if check["ok"] is None or (not check["ok"] and append.ids_given):
            # No such live stream; or maybe an idempotent repeat, which is checked first.
            outcomes.append(BatchOutcome(Outcome.ELSEWHERE))
        elif not check["ok"]:
            outcomes.append(BatchOutcome(Outcome.WRONG_VERSION, actual=check["before"]))
        else:
            outcomes.append(
                BatchOutcome(
                    Outcome.WRITTEN,
                    written_result(written[number], len(append.events), created=False),
                )
            )
    return outcomes
