"""hat-event queries of one chronicle: latest event per type, and timeseries pages.

Both see only what retention and deletes leave visible (storage/retention.py).

Index use (EXPLAIN output in bench/explain_queries.py):
- latest: latest_events_chronicle_type_idx (one row per stream and type, kept at
  append time; type in byte order), skip-scanned for the distinct types (ranged by the
  patterns' shared literal prefix, the regex as a filter), then walked down each type's
  positions to its newest visible event: the cost grows with the types of the
  chronicle, never with its events.
- timeseries by recorded_at: events_chronicle_recorded_at_idx (chronicle_id,
  recorded_at, position), walked forwards or backwards from the window's start or the
  cursor and stopped after max_results + 1 matches; the regex is a filter on the walk.
- timeseries by source_timestamp: the partial events_chronicle_source_ts_idx likewise.
"""

from uuid import UUID

import asyncpg

from app.domain.patterns import literal_prefix, patterns_regex
from app.domain.queries import LatestQuery, Order, OrderBy, QueryResult, TimeseriesQuery
from app.errors import EventNotFoundError
from app.storage.catalog import chronicle_id
from app.storage.reader import EVENT_COLUMNS, recorded_event
from app.storage.retention import VISIBLE

_JOINS = "JOIN streams s ON s.id = e.stream_id JOIN chronicles c ON c.id = e.chronicle_id"

# A stream's newest event of a type is hidden only once all its events of that type are
# (what retention keeps is a suffix of versions), so the newest visible event of a type is
# among the visible latest_events rows. The types come from a skip scan of
# latest_events_chronicle_type_idx (one seek per type); then, per type, that index is
# walked down its positions to the first visible row. So the cost grows with the types
# of the chronicle, not with its streams x types (bench/queries.py: 20 types over 1,000
# streams took ~20-40 ms as one DISTINCT ON over all 20,000 rows).
_LATEST = f"""
WITH RECURSIVE types(type) AS (
    (SELECT l.type FROM latest_events l WHERE l.chronicle_id = $1 {{first}}
     ORDER BY l.type LIMIT 1)
    UNION ALL
    SELECT (SELECT l.type FROM latest_events l WHERE l.chronicle_id = $1 AND l.type > t.type
            {{rest}} ORDER BY l.type LIMIT 1)
    FROM types t WHERE t.type IS NOT NULL
)
SELECT {EVENT_COLUMNS} FROM types t CROSS JOIN LATERAL (
    SELECT l.position FROM latest_events l JOIN streams s ON s.id = l.stream_id
    WHERE l.chronicle_id = $1 AND l.type = t.type
    -- A scalar subquery, not a join: one primary-key lookup per row walked, where the
    -- planner would otherwise merge-join against a backward scan of all events.
    AND (SELECT true FROM events e WHERE e.position = l.position AND {VISIBLE})
    ORDER BY l.position DESC LIMIT 1
) latest JOIN events e ON e.position = latest.position {_JOINS}
ORDER BY e.type
"""
_LATEST_ALL = _LATEST.format(first="", rest="")
_LATEST_MATCHING = _LATEST.format(first="AND l.type ~ $2", rest="AND l.type ~ $2")
# The literal prefix as a range on the "C"-collated type: an index condition, not a filter.
_LATEST_PREFIXED = _LATEST.format(
    first="AND l.type >= $3 AND l.type < $4 AND l.type ~ $2", rest="AND l.type < $4 AND l.type ~ $2"
)


async def query_latest(pool: asyncpg.Pool, query: LatestQuery) -> QueryResult:
    """The newest event of each type matching the patterns, ordered by type.

    Raises ChronicleNotFoundError.
    """
    cid = await chronicle_id(pool, query.chronicle)
    if query.patterns == []:
        return QueryResult(events=[], more_follows=False)
    if query.patterns is None:
        rows = await pool.fetch(_LATEST_ALL, cid)
    elif (prefix := literal_prefix(query.patterns)) is None:
        rows = await pool.fetch(_LATEST_MATCHING, cid, patterns_regex(query.patterns))
    else:
        regex = patterns_regex(query.patterns)
        rows = await pool.fetch(_LATEST_PREFIXED, cid, regex, prefix, prefix + "0")
    return QueryResult(events=[recorded_event(r) for r in rows], more_follows=False)


async def query_timeseries(pool: asyncpg.Pool, query: TimeseriesQuery) -> QueryResult:
    """One page of events in the windows, ordered by ``order_by`` then position.

    ``more_follows`` says whether another page exists now; pass the last event's id
    as ``after`` to get it. Raises ChronicleNotFoundError, and EventNotFoundError when
    ``after`` is not an event of this chronicle that this ordering can continue from.
    """
    cid = await chronicle_id(pool, query.chronicle)
    if query.patterns == []:
        return QueryResult(events=[], more_follows=False)
    key = f"e.{query.order_by.value}"
    params: list[object] = [cid]

    def param(value: object) -> str:
        params.append(value)
        return f"${len(params)}"

    conditions = ["e.chronicle_id = $1", VISIBLE]
    if query.order_by is OrderBy.SOURCE_TIMESTAMP:
        # Events without a source timestamp have no place in this order (and the
        # partial index needs the condition spelled out to be usable).
        conditions.append("e.source_timestamp IS NOT NULL")
    if query.patterns is not None:
        conditions.append(f"e.type ~ {param(patterns_regex(query.patterns))}")
    for column, low, high in (
        ("e.recorded_at", query.t_from, query.t_to),
        ("e.source_timestamp", query.source_t_from, query.source_t_to),
    ):
        if low is not None:
            conditions.append(f"{column} >= {param(low)}")
        if high is not None:
            conditions.append(f"{column} <= {param(high)}")
    ascending = query.order is Order.ASCENDING
    if query.after is not None:
        after_key, after_position = await _cursor(pool, cid, query, query.after)
        # A row comparison continues exactly after the cursor in the index order.
        operator = ">" if ascending else "<"
        conditions.append(
            f"({key}, e.position) {operator} ({param(after_key)}, {param(after_position)})"
        )
    direction = "ASC" if ascending else "DESC"
    limit = param(query.max_results + 1)
    rows = await pool.fetch(
        f"SELECT {EVENT_COLUMNS} FROM events e {_JOINS} WHERE {' AND '.join(conditions)} "
        f"ORDER BY {key} {direction}, e.position {direction} LIMIT {limit}",
        *params,
    )
    events = [recorded_event(r) for r in rows[: query.max_results]]
    return QueryResult(events=events, more_follows=len(rows) > query.max_results)


async def _cursor(
    pool: asyncpg.Pool, cid: int, query: TimeseriesQuery, after: UUID
) -> tuple[int, int]:
    row = await pool.fetchrow(
        f"SELECT e.{query.order_by.value} AS key, e.position FROM events e "
        "WHERE e.event_id = $1 AND e.chronicle_id = $2",
        after,
        cid,
    )
    if row is None or row["key"] is None:
        raise EventNotFoundError(
            f"continue-after event {after} is not an event of chronicle {query.chronicle!r}"
            + (f" with a {query.order_by.value}" if row is not None else ""),
            chronicle=query.chronicle,
            event_id=str(after),
        )
    return row["key"], row["position"]
