"""Events read as their JSON text, built by PostgreSQL from the stored text.

A catch-up subscription sends every event it reads once, as it is. Building the JSON in
the query (the stored ``data::text`` and ``metadata::text`` embedded verbatim) spares the
process the per-event work that dominated catch-up: turning a row into a RecordedEvent
and encoding it again. The JSON has the fields and
values of ``EventOut`` (schemas/events.py), in its order; a test keeps them equal.
"""

from dataclasses import dataclass

import asyncpg

from app.domain.patterns import Pattern
from app.storage.catalog import readable_stream
from app.storage.reader import log_rows
from app.storage.retention import VISIBLE

# Concatenated rather than json_build_object: half the server time per row (EXPLAIN
# ANALYZE: ~4 us against ~8 us), as only the names need escaping (to_json). concat()
# reads NULL as '', so every nullable column is coalesced to null.
EVENT_JSON = """concat(
    '{"event_id":"', e.event_id, '","chronicle":', to_json(c.name),
    ',"stream":', to_json(s.name), ',"version":', e.version, ',"position":', e.position,
    ',"type":', to_json(e.type), ',"data":', coalesce(e.data::text, 'null'),
    ',"data_base64":',
    coalesce('"' || translate(encode(e.data_bin, 'base64'), E'\\n', '') || '"', 'null'),
    ',"content_type":', to_json(e.content_type), ',"metadata":', e.metadata::text,
    ',"recorded_at":', e.recorded_at,
    ',"source_timestamp":', coalesce(e.source_timestamp::text, 'null'),
    ',"client_id":', coalesce(to_json(e.client_id)::text, 'null'), '}')"""

_COLUMNS = f"e.position, e.version, e.type, {EVENT_JSON} AS json"


@dataclass(frozen=True, slots=True)
class EventJson:
    """An event's numbers and type (for cursors and filters) and its JSON text."""

    position: int
    version: int
    type: str
    json: str


def _events(rows: list[asyncpg.Record]) -> list[EventJson]:
    return [EventJson(r["position"], r["version"], r["type"], r["json"]) for r in rows]


async def read_log_json(
    conn: asyncpg.Pool | asyncpg.Connection,
    from_position: int,
    limit: int,
    cid: int | None,
    patterns: list[Pattern] | None,
    chronicle_ids: frozenset[int] | None = None,
) -> tuple[list[EventJson], int]:
    """``reader.read_log`` as JSON: the events and where the next page starts."""
    rows, next_position = await log_rows(
        conn, from_position, limit, cid, patterns, _COLUMNS, chronicle_ids
    )
    return _events(rows), next_position


async def read_stream_json(
    pool: asyncpg.Pool, chronicle: str, stream: str, start: int, limit: int
) -> list[EventJson]:
    """``reader.read_stream`` forwards from version ``start``, as JSON (at most ``limit``).

    Raises ChronicleNotFoundError, StreamNotFoundError or StreamDeletedError.
    """
    sid, first_visible = await readable_stream(pool, chronicle, stream)
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM events e JOIN streams s ON s.id = e.stream_id "
        "JOIN chronicles c ON c.id = e.chronicle_id "
        f"WHERE e.stream_id = $1 AND e.version >= $2 AND {VISIBLE} ORDER BY e.version LIMIT $3",
        sid,
        max(start, first_visible),
        limit,
    )
    return _events(rows)
