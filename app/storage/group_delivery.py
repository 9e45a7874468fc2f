"""Delivering a persistent subscription's events to its consumers, with the state in PostgreSQL.

Several server processes may serve consumers of one group (``serve --workers 2``, or
several hosts), so no process owns a group and none keeps its state in memory. The state
is three kinds of rows: the group (settings, read cursor, round-robin turn), one row per
connected consumer with a lease its process renews, and one row per event read but not
finished (``subscription_entries``: pending, in flight to one consumer with a deadline,
or parked).

A *dispatch* runs as one short transaction holding the group row's lock (FOR NO KEY
UPDATE), so dispatches of a group take turns, whichever process runs them: it removes
consumers whose lease lapsed (their process died) and takes back their events, takes back
events whose ack timeout passed, reads the scope's next events into the buffer and
advances the read cursor in the same transaction, then assigns pending events to consumers
with room (domain/group_delivery.py ``assign``). An event is thus in flight to at most one
consumer, and only a timeout or a nack hands it to another. Each consumer's connection
then takes the rows assigned to it and not yet sent. Taking, acks and nacks touch only
that consumer's own rows, holding the group row FOR SHARE: consumers proceed side by side
but never beside a dispatch, so an ack that meets a timeout cannot deadlock with it; it
comes after it, finds the row no longer in flight and fails as ``event_not_in_flight``,
changing nothing.

The checkpoint is derived, never stored: every position below the lowest unfinished entry
(or the read cursor, when none is left) is finished. The rows are the truth, so a restart
loses nothing: unacked events come again (at once when their server stopped cleanly and
its consumers left, else after their ack timeout or lease), acked ones never do.

NOTIFY on GROUP_CHANNEL (payload: the group id) wakes consumers on every process after a
change that concerns them; like the events channel it is only a hint: consumers also
wake at the group's next deadline and on a poll interval.
"""

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from app.domain.events import RecordedEvent
from app.domain.group_delivery import (
    ConsumerRoom,
    EventNotInFlightError,
    NackAction,
    Strategy,
    assign,
)
from app.domain.patterns import parse_patterns, patterns_regex
from app.errors import SubscriptionNotFoundError
from app.storage.groups import notify
from app.storage.reader import EVENT_COLUMNS, recorded_event
from app.storage.retention import visible_unjoined


@dataclass(frozen=True, slots=True)
class Delivery:
    event: RecordedEvent
    retry_count: int


# One failure of each in-flight entry matching the condition: a retry, or parked once it
# has been retried max_retries times. Used for timeouts, departures and nacks alike.
_FAIL = """
UPDATE subscription_entries e SET
    retries = e.retries + 1, consumer = NULL, deadline = NULL, sent = false,
    state = CASE WHEN e.retries + 1 > g.max_retries THEN 'parked' ELSE 'pending' END,
    reason = CASE WHEN e.retries + 1 > g.max_retries
        THEN $2 || '; max retries (' || g.max_retries || ') exceeded' END,
    parked_at = CASE WHEN e.retries + 1 > g.max_retries THEN clock_timestamp() END
FROM subscription_groups g
WHERE g.id = e.group_id AND e.group_id = $1 AND e.state = 'inflight' AND {condition}
RETURNING e.event_id
"""

_ROOMS = """
SELECT k.id, least(coalesce(k.max_in_flight, g.max_in_flight), g.max_in_flight)
       - count(e.position) AS room
FROM subscription_consumers k JOIN subscription_groups g ON g.id = k.group_id
LEFT JOIN subscription_entries e
    ON e.group_id = k.group_id AND e.consumer = k.id AND e.state = 'inflight'
WHERE k.group_id = $1
GROUP BY k.id, k.max_in_flight, g.max_in_flight, k.joined_at ORDER BY k.joined_at, k.id
"""

_TAKE = f"""
WITH mine AS (
    UPDATE subscription_entries SET sent = true
    WHERE group_id = $1 AND consumer = $2 AND state = 'inflight' AND NOT sent
    RETURNING position AS entry_position, retries AS entry_retries
)
SELECT m.entry_position, m.entry_retries, {EVENT_COLUMNS}
FROM mine m LEFT JOIN events e ON e.position = m.entry_position
LEFT JOIN streams s ON s.id = e.stream_id LEFT JOIN chronicles c ON c.id = e.chronicle_id
ORDER BY m.entry_position
"""

_NEXT_WAKE = """
SELECT greatest(0, extract(epoch FROM least(
    (SELECT min(deadline) FROM subscription_entries WHERE group_id = $1 AND state = 'inflight'),
    (SELECT min(expires_at) FROM subscription_consumers WHERE group_id = $1)
) - clock_timestamp()))::float8
"""


async def join(
    pool: asyncpg.Pool, group: int, consumer: UUID, max_in_flight: int | None, lease: float
) -> None:
    """Add a consumer (last in join order) that holds a lease of ``lease`` seconds."""
    await renew(pool, group, consumer, max_in_flight, lease)


async def renew(
    pool: asyncpg.Pool, group: int, consumer: UUID, max_in_flight: int | None, lease: float
) -> None:
    """Extend the consumer's lease; joins it again if a dispatch removed it meanwhile.
    Raises SubscriptionNotFoundError once the group is deleted."""
    done = await pool.fetchval(
        "INSERT INTO subscription_consumers (group_id, id, max_in_flight, joined_at, expires_at) "
        "SELECT id, $2, $3, clock_timestamp(), clock_timestamp() + make_interval(secs => $4) "
        "FROM subscription_groups WHERE id = $1 "
        "ON CONFLICT (group_id, id) DO UPDATE SET expires_at = excluded.expires_at RETURNING 1",
        group,
        consumer,
        max_in_flight,
        lease,
    )
    if done is None:
        raise _deleted(group)


async def leave(pool: asyncpg.Pool, group: int, consumer: UUID) -> None:
    """Remove the consumer; its events in flight fail once (retried by the others)."""
    async with pool.acquire() as conn, conn.transaction():
        # Under the group lock, so that no dispatch assigns to it after it has gone.
        if (
            await conn.fetchval(
                "SELECT 1 FROM subscription_groups WHERE id = $1 FOR NO KEY UPDATE", group
            )
            is None
        ):
            return
        await conn.execute(
            "DELETE FROM subscription_consumers WHERE group_id = $1 AND id = $2", group, consumer
        )
        failed = await conn.fetch(
            _FAIL.format(condition="e.consumer = $3"), group, "consumer left", consumer
        )
        if failed:
            await notify(conn, group)


async def dispatch(pool: asyncpg.Pool, group: int, buffer_size: int) -> float | None:
    """Expire, read and assign as described above; returns the seconds until the group's
    next ack deadline or lease expiry, when a dispatch has work again (None: neither).
    Raises SubscriptionNotFoundError once the group is deleted."""
    async with pool.acquire() as conn, conn.transaction():
        g = await conn.fetchrow(
            "SELECT id, chronicle_id, stream, types, read_cursor, turn, ack_timeout, strategy "
            "FROM subscription_groups WHERE id = $1 FOR NO KEY UPDATE",
            group,
        )
        if g is None:
            raise _deleted(group)
        lost = await conn.fetch(
            "DELETE FROM subscription_consumers WHERE group_id = $1 "
            "AND expires_at < clock_timestamp() RETURNING id",
            group,
        )
        if lost:
            ids = [r["id"] for r in lost]
            await conn.execute(
                _FAIL.format(condition="e.consumer = ANY($3::uuid[])"), group, "consumer lost", ids
            )
        await conn.execute(
            _FAIL.format(condition="e.deadline <= clock_timestamp()"), group, "ack timeout"
        )
        await _read(conn, g, buffer_size)
        if await _assign(conn, g):
            await notify(conn, group)
        wait: float | None = await conn.fetchval(_NEXT_WAKE, group)
    return wait


async def _read(conn: asyncpg.Connection, g: asyncpg.Record, buffer_size: int) -> None:
    """Buffer the scope's next events as pending entries, while the buffer has room."""
    held = await conn.fetchval(
        "SELECT count(*) FROM subscription_entries WHERE group_id = $1 "
        "AND state IN ('pending', 'inflight')",
        g["id"],
    )
    room = buffer_size - held
    if room <= 0:
        return
    params: list[object] = [g["id"], g["read_cursor"], room]
    conditions = ["e.position >= $2"]
    scope = ["true"]
    if g["chronicle_id"] is not None:
        params.append(g["chronicle_id"])
        conditions.append(f"e.chronicle_id = ${len(params)}")
        scope.append(f"s.chronicle_id = ${len(params)}")
    if g["stream"] is not None:
        # A stream's id never changes (deletes keep the row), so it is looked up once per
        # statement; the page is then a range of the stream's events.
        params.append(g["stream"])
        scope.append(f"s.name = ${len(params)}")
        conditions.append(f"e.stream_id = (SELECT s.id FROM streams s WHERE {' AND '.join(scope)})")
    conditions.append(visible_unjoined(" AND ".join(scope)))
    if g["types"] is not None:
        params.append(patterns_regex(parse_patterns(g["types"])))
        conditions.append(f"e.type ~ ${len(params)}")
    # One statement, one snapshot: position order is commit order (storage/appender.py),
    # so every event up to the horizon this snapshot sees was visible to the page.
    row = await conn.fetchrow(
        f"""
        WITH h AS (SELECT coalesce(max(position), 0) AS horizon FROM events),
        page AS MATERIALIZED (
            SELECT e.position, e.event_id FROM events e
            WHERE {" AND ".join(conditions)} ORDER BY e.position LIMIT $3
        ),
        ins AS (
            INSERT INTO subscription_entries (group_id, position, event_id)
            SELECT $1, position, event_id FROM page ON CONFLICT DO NOTHING
        )
        SELECT h.horizon, (SELECT count(*) FROM page) AS found,
               (SELECT max(position) FROM page) AS last FROM h
        """,
        *params,
    )
    assert row is not None
    if row["found"] == room:
        cursor = row["last"] + 1
    else:
        cursor = max(g["read_cursor"], row["horizon"] + 1)
    if cursor != g["read_cursor"]:
        await conn.execute(
            "UPDATE subscription_groups SET read_cursor = $2 WHERE id = $1", g["id"], cursor
        )


async def _assign(conn: asyncpg.Connection, g: asyncpg.Record) -> int:
    """Assign pending events to consumers with room; returns how many."""
    rooms = [ConsumerRoom(r["id"], r["room"]) for r in await conn.fetch(_ROOMS, g["id"])]
    total = sum(max(0, r.room) for r in rooms)
    if total == 0:
        return 0
    # Oldest first: a retried event comes before newer ones.
    pending = await conn.fetch(
        "SELECT position FROM subscription_entries WHERE group_id = $1 AND state = 'pending' "
        "ORDER BY position LIMIT $2",
        g["id"],
        total,
    )
    chosen, turn = assign(len(pending), rooms, Strategy(g["strategy"]), g["turn"])
    if not chosen:
        return 0
    await conn.execute(
        "UPDATE subscription_entries e SET state = 'inflight', consumer = a.consumer, "
        "sent = false, deadline = clock_timestamp() + make_interval(secs => $2) "
        "FROM unnest($3::bigint[], $4::uuid[]) AS a(position, consumer) "
        "WHERE e.group_id = $1 AND e.position = a.position",
        g["id"],
        g["ack_timeout"],
        [r["position"] for r in pending[: len(chosen)]],
        chosen,
    )
    if turn != g["turn"]:
        await conn.execute("UPDATE subscription_groups SET turn = $2 WHERE id = $1", g["id"], turn)
    return len(chosen)


async def take(pool: asyncpg.Pool, group: int, consumer: UUID) -> list[Delivery]:
    """The events assigned to ``consumer`` and not yet sent to it, marked sent, in position
    order. An entry whose event the store no longer has (retention, a deleted chronicle)
    is finished instead."""
    async with pool.acquire() as conn, conn.transaction():
        await _share_lock(conn, group)
        rows = await conn.fetch(_TAKE, group, consumer)
        gone = [r["entry_position"] for r in rows if r["event_id"] is None]
        if gone:
            await conn.execute(
                "DELETE FROM subscription_entries WHERE group_id = $1 AND position = ANY($2)",
                group,
                gone,
            )
    return [Delivery(recorded_event(r), r["entry_retries"]) for r in rows if r["event_id"]]


async def ack(pool: asyncpg.Pool, group: int, consumer: UUID, event_ids: list[UUID]) -> None:
    """Finish events in flight to ``consumer``. All or nothing: raises EventNotInFlightError
    naming the ids that are not (unknown, answered already, or taken back by a timeout)."""
    async with pool.acquire() as conn, conn.transaction():
        await _share_lock(conn, group)
        done = await conn.fetch(
            "DELETE FROM subscription_entries WHERE group_id = $1 AND consumer = $2 "
            "AND state = 'inflight' AND event_id = ANY($3::uuid[]) RETURNING event_id",
            group,
            consumer,
            event_ids,
        )
        _check_all(event_ids, done)


async def nack(
    pool: asyncpg.Pool,
    group: int,
    consumer: UUID,
    event_ids: list[UUID],
    action: NackAction,
    reason: str,
) -> None:
    """Retry, park or skip events in flight to ``consumer``; all or nothing, as ``ack``."""
    mine = "e.consumer = $3 AND e.event_id = ANY($4::uuid[])"
    async with pool.acquire() as conn, conn.transaction():
        await _share_lock(conn, group)
        if action is NackAction.RETRY:
            done = await conn.fetch(
                _FAIL.format(condition=mine),
                group,
                reason or "retry requested by the consumer",
                consumer,
                event_ids,
            )
        elif action is NackAction.PARK:
            done = await conn.fetch(
                "UPDATE subscription_entries e SET state = 'parked', consumer = NULL, "
                "deadline = NULL, sent = false, reason = $2, parked_at = clock_timestamp() "
                f"WHERE e.group_id = $1 AND e.state = 'inflight' AND {mine} RETURNING e.event_id",
                group,
                reason or "parked by the consumer",
                consumer,
                event_ids,
            )
        else:
            done = await conn.fetch(
                "DELETE FROM subscription_entries e WHERE e.group_id = $1 AND e.state = 'inflight' "
                "AND e.consumer = $2 AND e.event_id = ANY($3::uuid[]) RETURNING e.event_id",
                group,
                consumer,
                event_ids,
            )
        _check_all(event_ids, done)


async def _share_lock(conn: asyncpg.Connection, group: int) -> None:
    # Consumers' own changes run side by side, but never beside a dispatch: the two would
    # lock the same entries in different orders (a deadlock) when a timeout meets an ack.
    if await conn.fetchval("SELECT 1 FROM subscription_groups WHERE id = $1 FOR SHARE", group):
        return
    raise _deleted(group)


def _check_all(event_ids: list[UUID], done: list[asyncpg.Record]) -> None:
    # Raised inside the transaction, so a partly valid answer changes nothing.
    missing = set(event_ids) - {r["event_id"] for r in done}
    if missing:
        shown = sorted(str(m) for m in missing)
        raise EventNotInFlightError(
            f"{len(missing)} of the events are not in flight to this consumer (unknown, "
            f"answered already, or taken back after their ack timeout): {', '.join(shown[:5])}",
            event_ids=shown,
        )


def _deleted(group: int) -> SubscriptionNotFoundError:
    return SubscriptionNotFoundError("the persistent subscription was deleted", deleted=True)
