"""Deleting streams (soft or hard, EventStoreDB's semantics) and whole chronicles.

A stream delete only marks the row and raises its ``deleted_before`` floor to version + 1:
readers stop seeing its events at once and the scavenger (storage/retention.py) removes
them later, so a delete costs the same for a stream of ten events or ten million.
"""

import asyncpg

from app.domain.retention import DeleteMode
from app.errors import ChronicleNotFoundError
from app.storage.appender import NOTIFY_CHANNEL, take_append_lock
from app.storage.catalog import chronicle_id, stream_deleted, stream_not_found

DELETION_CHANNEL = "chronicle_deletions"
"""Notified when a stream or chronicle is deleted: live readers re-check their scope."""


async def delete_stream(pool: asyncpg.Pool, chronicle: str, name: str, mode: DeleteMode) -> None:
    """Delete a stream. ``soft``: it reads as not found until an append (or acquire) recreates
    it; its version numbers continue and its old events stay hidden. ``hard``: a tombstone;
    every later read, write or acquire raises StreamDeletedError. A soft-deleted stream may
    be hard-deleted; deleting it softly again raises StreamNotFoundError.
    """
    async with pool.acquire() as conn, conn.transaction():
        cid = await chronicle_id(conn, chronicle)
        # The row lock waits for an append in flight, so deleted_before covers its events.
        deletion = await conn.fetchrow(
            "SELECT deletion FROM streams WHERE chronicle_id = $1 AND name = $2 FOR UPDATE",
            cid,
            name,
        )
        if deletion is None:
            raise stream_not_found(chronicle, name)
        if deletion["deletion"] == DeleteMode.HARD:
            raise stream_deleted(chronicle, name)
        if deletion["deletion"] == DeleteMode.SOFT and mode is DeleteMode.SOFT:
            raise stream_not_found(chronicle, name)
        await conn.execute(
            "UPDATE streams SET deletion = $3, deleted_before = version + 1 "
            "WHERE chronicle_id = $1 AND name = $2",
            cid,
            name,
            mode.value,
        )
        await _wake_followers(conn)


async def delete_chronicle(pool: asyncpg.Pool, name: str) -> None:
    """Delete a chronicle with all its streams and events, in one transaction.

    It holds the append lock, which every append takes before its stream row: so no append
    is half-way through one of its streams (no deadlock on the rows the cascade deletes),
    and none can start on it until the delete has committed. Live subscriptions on the
    chronicle or its streams are woken and end with chronicle_not_found.
    """
    async with pool.acquire() as conn, conn.transaction():
        await take_append_lock(conn)
        deleted = await conn.fetchval("DELETE FROM chronicles WHERE name = $1 RETURNING id", name)
        if deleted is None:
            raise ChronicleNotFoundError(f"chronicle {name!r} does not exist", chronicle=name)
        # Events have no foreign key to cascade along (migration 0008).
        await conn.execute("DELETE FROM events WHERE chronicle_id = $1", deleted)
        await _wake_followers(conn)


async def _wake_followers(conn: asyncpg.Connection) -> None:
    # Followers re-read on a notification (delivered at commit) and see the change then;
    # subscribers fed by the shared live reader (hub/fanout.py) hear of it on its own
    # channel, since a delete commits no event that reader would see.
    await conn.execute(
        "SELECT pg_notify($1, ''), pg_notify($2, '')", NOTIFY_CHANNEL, DELETION_CHANNEL
    )
