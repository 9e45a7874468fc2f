"""Reading events: one by number, a stream in pages, a time-range replay, the global log.

Every read sees only what retention and deletes leave visible (storage/retention.py).
"""

from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from app.domain.events import RecordedEvent
from app.domain.patterns import Pattern, patterns_regex
from app.errors import EventNotFoundError
from app.storage.catalog import chronicle_id, readable_stream
from app.storage.retention import VISIBLE, visible_unjoined
from app.storage.stream_names import StreamNames, named

# Every query that yields events joins streams s and chronicles c to events e.
EVENT_COLUMNS = (
    "e.event_id, c.name AS chronicle, s.name AS stream, e.version, e.position, e.type, "
    "e.data::text AS data, e.data_bin, e.content_type, e.metadata::text AS metadata, "
    "e.recorded_at, e.source_timestamp, e.client_id"
)
_FROM = (
    "FROM events e JOIN streams s ON s.id = e.stream_id JOIN chronicles c ON c.id = e.chronicle_id"
)
# EVENT_COLUMNS over events e alone, ids instead of names: pages of the log read a plain
# range of the position index and take the names from StreamNames. Joined per event, a page
# can be planned as a scan of every stream's events (15-25 ms at 100,000 events on a young
# database; bench/RESULTS.md).
UNJOINED_EVENT_COLUMNS = (
    "e.event_id, e.stream_id, e.chronicle_id, e.version, e.position, e.type, "
    "e.data::text AS data, e.data_bin, e.content_type, e.metadata::text AS metadata, "
    "e.recorded_at, e.source_timestamp, e.client_id"
)


class Direction(StrEnum):
    FORWARDS = "forwards"
    BACKWARDS = "backwards"


@dataclass(frozen=True, slots=True)
class EventSlice:
    """A page of events. ``next`` is where the following page starts (version or position);
    None when there is nothing further in that direction right now."""

    events: list[RecordedEvent]
    next: int | None


def recorded_event(
    row: asyncpg.Record, chronicle: str | None = None, stream: str | None = None
) -> RecordedEvent:
    """The event of a row of EVENT_COLUMNS; or of a row without the names, given here."""
    return RecordedEvent(
        event_id=row["event_id"],
        chronicle=row["chronicle"] if chronicle is None else chronicle,
        stream=row["stream"] if stream is None else stream,
        version=row["version"],
        position=row["position"],
        type=row["type"],
        json_data=row["data"],
        binary_data=row["data_bin"],
        content_type=row["content_type"],
        metadata=row["metadata"],
        recorded_at=row["recorded_at"],
        source_timestamp=row["source_timestamp"],
        client_id=row["client_id"],
    )


def _slice(rows: list[asyncpg.Record], limit: int, key: str) -> EventSlice:
    """Pages fetch limit + 1 rows; the extra row, if any, is where the next page starts."""
    events = [recorded_event(r) for r in rows[:limit]]
    return EventSlice(events=events, next=rows[limit][key] if len(rows) > limit else None)


async def get_event(pool: asyncpg.Pool, chronicle: str, stream: str, version: int) -> RecordedEvent:
    sid, _ = await readable_stream(pool, chronicle, stream)
    row = await pool.fetchrow(
        f"SELECT {EVENT_COLUMNS} {_FROM} WHERE e.stream_id = $1 AND e.version = $2 AND {VISIBLE}",
        sid,
        version,
    )
    if row is None:
        raise EventNotFoundError(
            f"stream {chronicle}/{stream} has no event {version}",
            chronicle=chronicle,
            stream=stream,
            version=version,
        )
    return recorded_event(row)


async def read_stream(
    pool: asyncpg.Pool,
    chronicle: str,
    stream: str,
    start: int | None,
    direction: Direction,
    limit: int,
) -> EventSlice:
    """Events from version ``start`` (inclusive) on, in ``direction``.

    ``start`` None means the first event forwards, the last event backwards.
    """
    # first_visible bounds the index range; VISIBLE re-checks it in the page's own snapshot.
    sid, first_visible = await readable_stream(pool, chronicle, stream)
    if direction is Direction.FORWARDS:
        rows = await pool.fetch(
            f"SELECT {EVENT_COLUMNS} {_FROM} WHERE e.stream_id = $1 AND e.version >= $2 "
            f"AND {VISIBLE} ORDER BY e.version LIMIT $3",
            sid,
            max(start or 0, first_visible),
            limit + 1,
        )
    else:
        rows = await pool.fetch(
            f"SELECT {EVENT_COLUMNS} {_FROM} WHERE e.stream_id = $1 "
            "AND ($2::bigint IS NULL OR e.version <= $2) AND e.version >= $4 "
            f"AND {VISIBLE} ORDER BY e.version DESC LIMIT $3",
            sid,
            start,
            limit + 1,
            first_visible,
        )
    return _slice(rows, limit, "version")


async def replay(
    pool: asyncpg.Pool,
    chronicle: str,
    stream: str,
    start_ns: int,
    end_ns: int,
    limit: int,
    from_version: int | None = None,
) -> EventSlice:
    """Events with ``start_ns <= recorded_at <= end_ns`` in order (ChronoLog's ReplayStory).

    Pages continue from ``from_version``; recorded_at increases with version in a stream.
    """
    sid, first_visible = await readable_stream(pool, chronicle, stream)
    rows = await pool.fetch(
        f"SELECT {EVENT_COLUMNS} {_FROM} WHERE e.stream_id = $1 "
        f"AND e.recorded_at BETWEEN $2 AND $3 AND e.version >= $4 AND {VISIBLE} "
        "ORDER BY e.recorded_at LIMIT $5",
        sid,
        start_ns,
        end_ns,
        max(from_version or 0, first_visible),
        limit + 1,
    )
    return _slice(rows, limit, "version")


async def read_all(
    pool: asyncpg.Pool,
    from_position: int,
    limit: int,
    chronicle: str | None = None,
    patterns: list[Pattern] | None = None,
    chronicle_ids: frozenset[int] | None = None,
) -> EventSlice:
    """The global log in position (= commit) order, from ``from_position`` inclusive.

    ``chronicle_ids`` (None: all) keeps only events of those chronicles: what a caller
    without a server admin's rights may read.

    ``patterns`` (None: every type) filter by type in SQL, as a regex over the position
    index walk. ``next`` is always set, so a follower can poll from it; it is one past
    the last position returned, or ``from_position`` when nothing was found. With
    ``patterns`` or ``chronicle_ids``, a page shorter than ``limit`` instead ends at the
    store's last position, so a follower of a rare match does not rescan the same stretch
    each poll.
    """
    cid = None if chronicle is None else await chronicle_id(pool, chronicle)
    return await read_log(pool, from_position, limit, cid, patterns, chronicle_ids)


async def read_log(
    conn: asyncpg.Pool | asyncpg.Connection,
    from_position: int,
    limit: int,
    cid: int | None = None,
    patterns: list[Pattern] | None = None,
    chronicle_ids: frozenset[int] | None = None,
    names: StreamNames[tuple[str, str]] | None = None,
) -> EventSlice:
    """``read_all`` for a chronicle already resolved to its id (None: every chronicle): a
    follower reading page after page resolves the name once, and passes the same ``names``
    to keep the streams' names between pages."""
    rows, next_position = await log_rows(
        conn,
        from_position,
        limit,
        cid,
        patterns,
        UNJOINED_EVENT_COLUMNS,
        chronicle_ids,
    )
    known = await (names or StreamNames(named)).of(conn, {r["stream_id"] for r in rows})
    events = [
        recorded_event(r, *known[r["stream_id"]])
        for r in rows
        if r["stream_id"] in known  # else gone with its chronicle (StreamNames.of)
    ]
    return EventSlice(events=events, next=next_position)


async def log_rows(
    conn: asyncpg.Pool | asyncpg.Connection,
    from_position: int,
    limit: int,
    cid: int | None,
    patterns: list[Pattern] | None,
    columns: str,
    chronicle_ids: frozenset[int] | None = None,
) -> tuple[list[asyncpg.Record], int]:
    """The rows (``columns`` over events e alone, e.g. UNJOINED_EVENT_COLUMNS; they must
    include e.position) of ``read_log`` and where the next page starts: a plain range of
    the position index, visibility checked per statement (retention.visible_unjoined).
    ``chronicle_ids`` (None: all) keeps only events of those chronicles; like ``patterns``,
    it makes a short page end at the store's last position."""
    if patterns == []:
        return [], from_position
    params: list[object] = [from_position]
    conditions = ["e.position >= $1"]
    scope = ["true"]
    if cid is not None:
        params.append(cid)
        conditions.append(f"e.chronicle_id = ${len(params)}")
        scope.append(f"s.chronicle_id = ${len(params)}")
    if chronicle_ids is not None:
        params.append(list(chronicle_ids))
        conditions.append(f"e.chronicle_id = ANY(${len(params)}::bigint[])")
        scope.append(f"s.chronicle_id = ANY(${len(params)}::bigint[])")
    conditions.append(visible_unjoined(" AND ".join(scope)))
    if patterns is not None:
        params.append(patterns_regex(patterns))
        conditions.append(f"e.type ~ ${len(params)}")
    params.append(limit)
    page = (
        f"SELECT {columns} FROM events e "
        f"WHERE {' AND '.join(conditions)} ORDER BY e.position LIMIT ${len(params)}"
    )
    if patterns is None and chronicle_ids is None:
        rows = await conn.fetch(page, *params)
        return rows, rows[-1]["position"] + 1 if rows else from_position
    # One statement, one snapshot: position order is commit order (storage/appender.py),
    # so every event up to the highest position this snapshot sees was visible to it.
    found = await conn.fetch(
        f"SELECT p.*, h.horizon FROM (SELECT max(position) AS horizon FROM events) h "
        f"LEFT JOIN ({page}) p ON true ORDER BY p.position",
        *params,
    )
    rows = [r for r in found if r["position"] is not None]
    if len(rows) < limit:
        return rows, max(from_position, (found[0]["horizon"] or 0) + 1)
    return rows, rows[-1]["position"] + 1


async def last_position(pool: asyncpg.Pool) -> int:
    """The highest position committed so far (0 for an empty store)."""
    value: int = await pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
    return value
