"""Persistent subscription groups as records: create, get, list, update, delete; parked events.

A group is named within its chronicle, or among the groups with no chronicle (those follow
every chronicle). Its delivery state is in storage/group_delivery.py. Every change here
NOTIFYs GROUP_CHANNEL so that connected consumers, on any server process, react at once.
"""

import asyncpg

from app.domain.catalog import Page
from app.domain.group_delivery import Group, GroupSettings, GroupStart, ParkedEvent, Strategy
from app.domain.patterns import parse_patterns
from app.errors import SubscriptionExistsError, SubscriptionNotFoundError
from app.storage.catalog import chronicle_id
from app.storage.notifications import GROUP_CHANNEL
from app.storage.reader import EVENT_COLUMNS, recorded_event

# The checkpoint and counts are derived from the entries (storage/group_delivery.py).
_SELECT = """
SELECT g.id, g.name, c.name AS chronicle, g.stream, g.types, g.start, g.read_cursor,
       g.ack_timeout, g.max_retries, g.max_in_flight, g.strategy, g.created_at,
       coalesce(n.open_min, g.read_cursor) AS checkpoint, n.pending, n.in_flight, n.parked,
       (SELECT count(*) FROM subscription_consumers k
        WHERE k.group_id = g.id AND k.expires_at > clock_timestamp()) AS consumers
FROM subscription_groups g LEFT JOIN chronicles c ON c.id = g.chronicle_id
CROSS JOIN LATERAL (
    SELECT min(e.position) FILTER (WHERE e.state <> 'parked' AND NOT e.replayed) AS open_min,
           count(*) FILTER (WHERE e.state = 'pending') AS pending,
           count(*) FILTER (WHERE e.state = 'inflight') AS in_flight,
           count(*) FILTER (WHERE e.state = 'parked') AS parked
    FROM subscription_entries e WHERE e.group_id = g.id
) n
"""
# $1: chronicle name or NULL (a group of everything); $2: group name.
_KEY = "g.name = $2 AND CASE WHEN $1::text IS NULL THEN g.chronicle_id IS NULL ELSE c.name = $1 END"


def _start(text: str) -> GroupStart:
    return text if text in ("start", "end") else int(text)  # type: ignore[return-value]


def _group(row: asyncpg.Record) -> Group:
    return Group(
        name=row["name"],
        chronicle=row["chronicle"],
        stream=row["stream"],
        types=row["types"],
        start=_start(row["start"]),
        settings=GroupSettings(
            ack_timeout=row["ack_timeout"],
            max_retries=row["max_retries"],
            max_in_flight=row["max_in_flight"],
            strategy=Strategy(row["strategy"]),
        ),
        created_at=row["created_at"],
        checkpoint=row["checkpoint"],
        read_position=row["read_cursor"],
        pending=row["pending"],
        in_flight=row["in_flight"],
        parked=row["parked"],
        consumers=row["consumers"],
    )


def not_found(chronicle: str | None, name: str) -> SubscriptionNotFoundError:
    where = f"in chronicle {chronicle!r}" if chronicle is not None else "over all chronicles"
    return SubscriptionNotFoundError(
        f"no persistent subscription {name!r} {where}", chronicle=chronicle, group=name
    )


async def notify(conn: asyncpg.Connection, group_id: int) -> None:
    """Wake the group's consumers in every process, once this transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", GROUP_CHANNEL, str(group_id))


async def group_id(
    conn: asyncpg.Connection | asyncpg.Pool, chronicle: str | None, name: str
) -> int:
    """The id of the group; raises ChronicleNotFoundError or SubscriptionNotFoundError."""
    found: int | None = await conn.fetchval(
        f"SELECT g.id FROM subscription_groups g LEFT JOIN chronicles c "
        f"ON c.id = g.chronicle_id WHERE {_KEY}",
        chronicle,
        name,
    )
    if found is None:
        if chronicle is not None:
            await chronicle_id(conn, chronicle)
        raise not_found(chronicle, name)
    return found


async def create_group(
    pool: asyncpg.Pool,
    chronicle: str | None,
    name: str,
    *,
    stream: str | None,
    types: list[str] | None,
    start: GroupStart,
    settings: GroupSettings,
) -> Group:
    """Create a group. Raises ChronicleNotFoundError, InvalidPatternError, or
    SubscriptionExistsError when the name is taken. ``start`` "end" begins after the last
    event committed now; a position begins there (positions are global in every scope)."""
    if types is not None:
        parse_patterns(types)
    async with pool.acquire() as conn, conn.transaction():
        cid = None if chronicle is None else await chronicle_id(conn, chronicle)
        if start == "start":
            cursor = 0
        elif start == "end":
            # Positions are drawn in commit order (storage/appender.py): an event not yet
            # visible here gets a higher position, so it is not skipped.
            cursor = await conn.fetchval("SELECT coalesce(max(position), 0) + 1 FROM events")
        else:
            cursor = start
        created = await conn.fetchval(
            "INSERT INTO subscription_groups (name, chronicle_id, stream, types, start, "
            "read_cursor, ack_timeout, max_retries, max_in_flight, strategy) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id",
            name,
            cid,
            stream,
            types,
            str(start),
            cursor,
            settings.ack_timeout,
            settings.max_retries,
            settings.max_in_flight,
            settings.strategy.value,
        )
    if created is None:
        raise SubscriptionExistsError(
            f"persistent subscription {name!r} already exists", chronicle=chronicle, group=name
        )
    return await get_group(pool, chronicle, name)


async def get_group(pool: asyncpg.Pool, chronicle: str | None, name: str) -> Group:
    row = await pool.fetchrow(f"{_SELECT} WHERE {_KEY}", chronicle, name)
    if row is None:
        await group_id(pool, chronicle, name)  # raises the reason
        raise not_found(chronicle, name)
    return _group(row)


async def list_groups(
    pool: asyncpg.Pool, chronicle: str | None, after: str | None, limit: int
) -> Page[Group]:
    """Groups of a chronicle (or the groups of everything) in name order, after ``after``."""
    if chronicle is None:
        scope, params = "g.chronicle_id IS NULL", []
    else:
        scope, params = "g.chronicle_id = $3", [await chronicle_id(pool, chronicle)]
    rows = await pool.fetch(
        f"{_SELECT} WHERE {scope} AND ($1::text IS NULL OR g.name > $1) ORDER BY g.name LIMIT $2",
        after,
        limit + 1,
        *params,
    )
    items = [_group(r) for r in rows[:limit]]
    return Page(items=items, next=items[-1].name if len(rows) > limit else None)


async def update_group(
    pool: asyncpg.Pool,
    chronicle: str | None,
    name: str,
    ack_timeout: float | None = None,
    max_retries: int | None = None,
    max_in_flight: int | None = None,
    strategy: Strategy | None = None,
) -> Group:
    """Change the settings given (None: keep). Events already in flight keep their deadline;
    the rest applies from the next dispatch."""
    current = (await get_group(pool, chronicle, name)).settings
    settings = GroupSettings(  # validates the combination
        ack_timeout=current.ack_timeout if ack_timeout is None else ack_timeout,
        max_retries=current.max_retries if max_retries is None else max_retries,
        max_in_flight=current.max_in_flight if max_in_flight is None else max_in_flight,
        strategy=current.strategy if strategy is None else strategy,
    )
    async with pool.acquire() as conn, conn.transaction():
        gid = await group_id(conn, chronicle, name)
        await conn.execute(
            "UPDATE subscription_groups SET ack_timeout = $2, max_retries = $3, "
            "max_in_flight = $4, strategy = $5 WHERE id = $1",
            gid,
            settings.ack_timeout,
            settings.max_retries,
            settings.max_in_flight,
            settings.strategy.value,
        )
        await notify(conn, gid)
    return await get_group(pool, chronicle, name)


async def delete_group(pool: asyncpg.Pool, chronicle: str | None, name: str) -> None:
    """Delete the group with its parked events; its connected consumers end with
    subscription_not_found."""
    async with pool.acquire() as conn, conn.transaction():
        gid = await group_id(conn, chronicle, name)
        await conn.execute("DELETE FROM subscription_groups WHERE id = $1", gid)
        await notify(conn, gid)


async def list_parked(
    pool: asyncpg.Pool, chronicle: str | None, name: str, after: int | None, limit: int
) -> tuple[list[ParkedEvent], int | None]:
    """Parked events in position order after position ``after``, and the next ``after``.
    An event removed from the store since it was parked is left out."""
    gid = await group_id(pool, chronicle, name)
    rows = await pool.fetch(
        f"SELECT p.retries AS parked_retries, p.reason, p.parked_at, {EVENT_COLUMNS} "
        "FROM subscription_entries p JOIN events e ON e.position = p.position "
        "JOIN streams s ON s.id = e.stream_id JOIN chronicles c ON c.id = e.chronicle_id "
        "WHERE p.group_id = $1 AND p.state = 'parked' AND p.position > $2 "
        "ORDER BY p.position LIMIT $3",
        gid,
        -1 if after is None else after,
        limit + 1,
    )
    parked = [
        ParkedEvent(recorded_event(r), r["parked_retries"], r["reason"] or "", r["parked_at"])
        for r in rows[:limit]
    ]
    return parked, parked[-1].event.position if len(rows) > limit else None


async def replay_parked(
    pool: asyncpg.Pool, chronicle: str | None, name: str, limit: int | None
) -> int:
    """Move parked events (the oldest ``limit``, or all) back to delivery with their retry
    count reset; returns how many. They do not hold the checkpoint back."""
    async with pool.acquire() as conn, conn.transaction():
        gid = await group_id(conn, chronicle, name)
        replayed: int = await conn.fetchval(
            "WITH r AS (UPDATE subscription_entries SET state = 'pending', retries = 0, "
            "replayed = true, reason = NULL, parked_at = NULL WHERE group_id = $1 AND position "
            "IN (SELECT position FROM subscription_entries WHERE group_id = $1 "
            "AND state = 'parked' ORDER BY position LIMIT $2) RETURNING 1) SELECT count(*) FROM r",
            gid,
            limit,
        )
        if replayed:
            await notify(conn, gid)
    return replayed
