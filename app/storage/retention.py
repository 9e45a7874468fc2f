"""Retention in SQL: which events readers see, and the scavenger that removes the rest.

Readers hide what retention or a delete removed at once (``VISIBLE``); the scavenger
deletes those events later, a bounded batch per statement. Deleting an event never
changes another's position or version, nor the stream's version, so cursors, ETags and
subscriptions stay valid. It never waits on a row lock (SKIP LOCKED), so it can neither
stall appends nor deadlock with them; what it skips, a later pass removes.
"""

import asyncio
from dataclasses import dataclass

import asyncpg
import structlog

log = structlog.get_logger(__name__)

# One clock for a whole statement; recorded_at is drawn from the same server clock.
NOW_NS = "(extract(epoch FROM statement_timestamp()) * 1000000000)::bigint"

# domain.retention.first_kept_version over streams s.
_KEPT_FROM = (
    "greatest(s.deleted_before, coalesce(s.truncate_before, 0), "
    "s.version + 1 - coalesce(s.max_count, s.version + 1))"
)

FIRST_VISIBLE = f"""greatest({_KEPT_FROM}, CASE WHEN s.max_age IS NULL THEN 0 ELSE coalesce(
    (SELECT a.version FROM events a WHERE a.stream_id = s.id
     AND a.recorded_at >= {NOW_NS} - s.max_age * 1000000000 ORDER BY a.recorded_at LIMIT 1),
    s.version + 1) END)"""
"""SQL: the first version of stream s that a reader sees (s.version + 1 when none). One index
seek for max_age: recorded_at grows with version in a stream, so what it keeps is a suffix."""

VISIBLE = (
    f"(s.deletion IS NULL AND e.version >= {_KEPT_FROM} AND "
    f"(s.max_age IS NULL OR e.recorded_at >= {NOW_NS} - s.max_age * 1000000000))"
)
"""SQL: event e of stream s is visible (domain.retention.is_visible, and s is not deleted)."""

RESTRICTED = (
    "(deletion IS NOT NULL OR deleted_before > 0 OR truncate_before IS NOT NULL "
    "OR max_count IS NOT NULL OR max_age IS NOT NULL)"
)
"""SQL over streams (unqualified, as the partial index streams_restricted_idx has it): the
stream may hide some of its events. Where it is false, VISIBLE holds for every event."""


def visible_unjoined(scope: str) -> str:
    """SQL: event e is visible, for a query that does not join e's stream. ``scope`` (over
    streams s) must hold for every stream the query's events may belong to, e.g.
    ``s.chronicle_id = $2``.

    The streams that may hide events (RESTRICTED) are found once per statement, through
    their partial index, and hashed; only their events pay an index probe of streams. A
    join per event cost as much as reading the event (bench/RESULTS.md, figure 5). Both
    subqueries see the statement's snapshot, as a join would."""
    return (
        f"(e.stream_id NOT IN (SELECT s.id FROM streams s WHERE {RESTRICTED} AND {scope}) "
        f"OR EXISTS (SELECT FROM streams s WHERE s.id = e.stream_id AND {VISIBLE}))"
    )


_CANDIDATES = """
SELECT s.id, c.name AS chronicle, s.name AS stream FROM streams s
JOIN chronicles c ON c.id = s.chronicle_id
WHERE s.id > $1 AND (s.deleted_before > 0 OR s.truncate_before IS NOT NULL
                     OR s.max_count IS NOT NULL OR s.max_age IS NOT NULL)
ORDER BY s.id LIMIT $2
"""

# The cut-off is computed in the same statement (one snapshot) as the delete: anything it
# removes was hidden from every reader of that snapshot. latest_events rows that pointed at
# removed events go too; a type's newest event is only removed once all of the stream's
# events of that type are, since what is kept is a suffix.
_SCAVENGE_STREAM = f"""
WITH s AS MATERIALIZED (
    SELECT s.id, {FIRST_VISIBLE} AS first_visible FROM streams s WHERE s.id = $1
),
doomed AS (
    SELECT e.position FROM events e JOIN s ON e.stream_id = s.id
    WHERE e.version < s.first_visible ORDER BY e.version LIMIT $2
    FOR UPDATE OF e SKIP LOCKED
),
gone AS (
    DELETE FROM events WHERE position IN (SELECT position FROM doomed)
    RETURNING position, version
),
stale AS (
    SELECT l.stream_id, l.type FROM latest_events l
    WHERE l.stream_id = $1 AND l.position IN (SELECT position FROM gone)
    FOR UPDATE SKIP LOCKED
),
latest AS (
    DELETE FROM latest_events l USING stale
    WHERE l.stream_id = stale.stream_id AND l.type = stale.type
)
SELECT count(*) AS removed, min(version) AS first, max(version) AS last FROM gone
"""


@dataclass(frozen=True, slots=True)
class Removed:
    """What one pass removed from one stream: how many events, versions first..last."""

    chronicle: str
    stream: str
    events: int
    first_version: int
    last_version: int


class Scavenger:
    """Every ``interval`` seconds, removes the events that retention and deletes hide."""

    def __init__(self, pool: asyncpg.Pool, interval: float, batch_size: int) -> None:
        self._pool = pool
        self._interval = interval
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="chronicle-scavenger")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.scavenge()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                # The next pass starts over; nothing is half-removed (one statement a batch).
                log.warning("retention_pass_failed", error=repr(error))

    async def scavenge(self) -> list[Removed]:
        """One pass over every stream with retention metadata or a delete; logs and returns
        what it removed. Each batch of at most ``batch_size`` events is its own statement."""
        removed: list[Removed] = []
        after = 0
        while candidates := await self._pool.fetch(_CANDIDATES, after, self._batch_size):
            for row in candidates:
                found = await self._scavenge_stream(row["id"], row["chronicle"], row["stream"])
                if found is not None:
                    removed.append(found)
            after = candidates[-1]["id"]
        return removed

    async def _scavenge_stream(self, sid: int, chronicle: str, stream: str) -> Removed | None:
        total, first, last = 0, None, None
        while True:
            row = await self._pool.fetchrow(_SCAVENGE_STREAM, sid, self._batch_size)
            assert row is not None
            if row["removed"] == 0:
                break
            total += row["removed"]
            first = row["first"] if first is None else min(first, row["first"])
            last = row["last"] if last is None else max(last, row["last"])
            if row["removed"] < self._batch_size:
                break
        if first is None or last is None:
            return None
        log.info(
            "retention_removed",
            chronicle=chronicle,
            stream=stream,
            events=total,
            first_version=first,
            last_version=last,
        )
        return Removed(chronicle, stream, total, first, last)
