"""Chronicle and stream records: create, list, get, update; stream retention metadata.

Deleting lives in storage/deletion.py (it takes the append lock, which lives above this).
"""

from typing import Any

import asyncpg
import orjson

from app.domain.catalog import Chronicle, Page, Stream
from app.domain.json_text import encode_json
from app.domain.retention import DeleteMode, Retention
from app.errors import (
    ChronicleExistsError,
    ChronicleNotFoundError,
    StreamDeletedError,
    StreamNotFoundError,
)
from app.storage.database import refused_values
from app.storage.retention import FIRST_VISIBLE

# A stream as readers see it: first_visible (storage/retention.py) gives the event count
# and the first visible event's recorded_at; deletion is checked by the caller.
_STREAM_SELECT = f"""
SELECT c.name AS chronicle, s.name, s.attributes::text AS attributes, s.version, s.deletion,
       s.last_recorded_at, s.created_at, s.max_count, s.max_age, s.truncate_before,
       v.first_visible, f.recorded_at AS first_recorded_at
FROM streams s JOIN chronicles c ON c.id = s.chronicle_id
CROSS JOIN LATERAL (SELECT {FIRST_VISIBLE} AS first_visible) v
LEFT JOIN events f ON f.stream_id = s.id AND f.version = v.first_visible
"""


def _chronicle(row: asyncpg.Record) -> Chronicle:
    return Chronicle(
        name=row["name"], attributes=orjson.loads(row["attributes"]), created_at=row["created_at"]
    )


def _retention(row: asyncpg.Record) -> Retention:
    return Retention(
        max_count=row["max_count"], max_age=row["max_age"], truncate_before=row["truncate_before"]
    )


def _stream(row: asyncpg.Record) -> Stream:
    count = max(0, row["version"] + 1 - row["first_visible"])
    return Stream(
        chronicle=row["chronicle"],
        name=row["name"],
        attributes=orjson.loads(row["attributes"]),
        version=row["version"],
        event_count=count,
        first_recorded_at=row["first_recorded_at"] if count else None,
        last_recorded_at=row["last_recorded_at"] if count else None,
        created_at=row["created_at"],
        retention=_retention(row),
    )


def stream_not_found(chronicle: str, name: str) -> StreamNotFoundError:
    return StreamNotFoundError(
        f"stream {name!r} does not exist in chronicle {chronicle!r}",
        chronicle=chronicle,
        stream=name,
    )


def stream_deleted(chronicle: str, name: str) -> StreamDeletedError:
    return StreamDeletedError(
        f"stream {name!r} in chronicle {chronicle!r} was hard-deleted: it can never be read, "
        "written or created again",
        chronicle=chronicle,
        stream=name,
    )


def check_not_deleted(deletion: str | None, chronicle: str, name: str) -> None:
    """Raise as a reader of a deleted stream must see it: gone for good, or not found."""
    if deletion == DeleteMode.HARD:
        raise stream_deleted(chronicle, name)
    if deletion == DeleteMode.SOFT:
        raise stream_not_found(chronicle, name)


def _json(value: dict[str, Any]) -> str:
    return encode_json(value, "attributes")


async def create_chronicle(
    pool: asyncpg.Pool, name: str, attributes: dict[str, Any], owner_id: int | None = None
) -> Chronicle:
    """Create a chronicle; ChronicleExistsError when the name is taken. ``owner_id``, a
    principal, is made its admin in the same statement, so it is never left unmanaged."""
    with refused_values():
        row = await pool.fetchrow(
            "WITH c AS (INSERT INTO chronicles (name, attributes) VALUES ($1, $2::jsonb) "
            "ON CONFLICT (name) DO NOTHING RETURNING id, name, attributes, created_at), "
            "g AS (INSERT INTO grants (principal_id, chronicle_id, role) "
            "SELECT $3, id, 'admin' FROM c WHERE $3::bigint IS NOT NULL) "
            "SELECT name, attributes::text AS attributes, created_at FROM c",
            name,
            _json(attributes),
            owner_id,
        )
    if row is None:
        raise ChronicleExistsError(f"chronicle {name!r} already exists", chronicle=name)
    return _chronicle(row)


async def get_chronicle(pool: asyncpg.Pool, name: str) -> Chronicle:
    row = await pool.fetchrow(
        "SELECT name, attributes::text AS attributes, created_at FROM chronicles WHERE name = $1",
        name,
    )
    if row is None:
        raise ChronicleNotFoundError(f"chronicle {name!r} does not exist", chronicle=name)
    return _chronicle(row)


async def list_chronicles(
    pool: asyncpg.Pool, after: str | None, limit: int, only_ids: frozenset[int] | None = None
) -> Page[Chronicle]:
    """Chronicles in name order, after the name ``after``; ``only_ids``: just those."""
    rows = await pool.fetch(
        "SELECT name, attributes::text AS attributes, created_at FROM chronicles "
        "WHERE ($1::text IS NULL OR name > $1) AND ($3::bigint[] IS NULL OR id = ANY($3)) "
        "ORDER BY name LIMIT $2",
        after,
        limit + 1,
        None if only_ids is None else list(only_ids),
    )
    items = [_chronicle(r) for r in rows[:limit]]
    return Page(items=items, next=items[-1].name if len(rows) > limit else None)


async def update_chronicle_attributes(
    pool: asyncpg.Pool, name: str, patch: dict[str, Any]
) -> Chronicle:
    """Merge ``patch`` into the attributes (RFC 7386 at the top level: null removes a key)."""
    with refused_values():
        row = await pool.fetchrow(
            "UPDATE chronicles SET attributes = (attributes || $2::jsonb) - "
            "ARRAY(SELECT key FROM jsonb_each($2::jsonb) WHERE value = 'null'::jsonb) "
            "WHERE name = $1 RETURNING name, attributes::text AS attributes, created_at",
            name,
            _json(patch),
        )
    if row is None:
        raise ChronicleNotFoundError(f"chronicle {name!r} does not exist", chronicle=name)
    return _chronicle(row)


async def chronicle_id(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> int:
    found: int | None = await conn.fetchval("SELECT id FROM chronicles WHERE name = $1", name)
    if found is None:
        raise ChronicleNotFoundError(f"chronicle {name!r} does not exist", chronicle=name)
    return found


async def acquire_stream(
    pool: asyncpg.Pool, chronicle: str, name: str, attributes: dict[str, Any]
) -> tuple[Stream, bool]:
    """Create the stream unless it exists (ChronoLog's acquire); return it and whether it is new.

    An existing stream keeps its attributes: acquiring is idempotent. A soft-deleted stream
    is recreated with these attributes, keeping its version and retention; a hard-deleted
    one raises StreamDeletedError.
    """
    async with pool.acquire() as conn, conn.transaction():
        cid = await chronicle_id(conn, chronicle)
        with refused_values():
            created = await conn.fetchval(
                "INSERT INTO streams (chronicle_id, name, attributes) VALUES ($1, $2, $3::jsonb) "
                "ON CONFLICT (chronicle_id, name) DO UPDATE SET deletion = NULL, "
                "attributes = excluded.attributes WHERE streams.deletion = 'soft' RETURNING id",
                cid,
                name,
                _json(attributes),
            )
        row = await conn.fetchrow(
            f"{_STREAM_SELECT} WHERE s.chronicle_id = $1 AND s.name = $2", cid, name
        )
    check_not_deleted(row["deletion"], chronicle, name)
    return _stream(row), created is not None


async def get_stream(pool: asyncpg.Pool, chronicle: str, name: str) -> Stream:
    """Raises ChronicleNotFoundError, StreamNotFoundError (also when soft-deleted) or
    StreamDeletedError."""
    row = await pool.fetchrow(
        f"{_STREAM_SELECT} WHERE c.name = $1 AND s.name = $2", chronicle, name
    )
    if row is None:
        await chronicle_id(pool, chronicle)
        raise stream_not_found(chronicle, name)
    check_not_deleted(row["deletion"], chronicle, name)
    return _stream(row)


async def list_streams(
    pool: asyncpg.Pool, chronicle: str, after: str | None, limit: int
) -> Page[Stream]:
    """Streams of a chronicle in name order, after the name ``after``; deleted ones are left out."""
    cid = await chronicle_id(pool, chronicle)
    rows = await pool.fetch(
        f"{_STREAM_SELECT} WHERE s.chronicle_id = $1 AND s.deletion IS NULL "
        "AND ($2::text IS NULL OR s.name > $2) ORDER BY s.name LIMIT $3",
        cid,
        after,
        limit + 1,
    )
    items = [_stream(r) for r in rows[:limit]]
    return Page(items=items, next=items[-1].name if len(rows) > limit else None)


async def readable_stream(
    conn: asyncpg.Connection | asyncpg.Pool, chronicle: str, name: str
) -> tuple[int, int]:
    """The id of a stream readers may read and its first visible version.

    Raises ChronicleNotFoundError, StreamNotFoundError or StreamDeletedError.
    """
    row = await conn.fetchrow(
        f"SELECT s.id, s.deletion, {FIRST_VISIBLE} AS first_visible FROM streams s "
        "JOIN chronicles c ON c.id = s.chronicle_id WHERE c.name = $1 AND s.name = $2",
        chronicle,
        name,
    )
    if row is None:
        await chronicle_id(conn, chronicle)
        raise stream_not_found(chronicle, name)
    check_not_deleted(row["deletion"], chronicle, name)
    return row["id"], row["first_visible"]


async def get_retention(pool: asyncpg.Pool, chronicle: str, name: str) -> Retention:
    """A live stream's retention metadata."""
    return (await get_stream(pool, chronicle, name)).retention


async def set_retention(
    pool: asyncpg.Pool, chronicle: str, name: str, retention: Retention
) -> Retention:
    """Replace a live stream's retention metadata (EventStoreDB's set stream metadata).

    Readers stop seeing what it excludes at once; loosening it shows again only the events
    the scavenger has not removed yet. Raises as get_stream does.
    """
    row = await pool.fetchrow(
        "UPDATE streams s SET max_count = $3, max_age = $4, truncate_before = $5 "
        "FROM chronicles c WHERE c.id = s.chronicle_id AND c.name = $1 AND s.name = $2 "
        "AND s.deletion IS NULL RETURNING s.max_count, s.max_age, s.truncate_before",
        chronicle,
        name,
        retention.max_count,
        retention.max_age,
        retention.truncate_before,
    )
    if row is None:
        await get_stream(pool, chronicle, name)  # raises the reason
        raise stream_not_found(chronicle, name)  # deleted between the two statements
    return _retention(row)
