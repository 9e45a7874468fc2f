"""Chronicle and stream records: create, list, get, update, delete."""

from typing import Any

import asyncpg
import orjson

from app.domain.catalog import Chronicle, Page, Stream
from app.domain.json_text import encode_json
from app.errors import ChronicleExistsError, ChronicleNotFoundError, StreamNotFoundError
from app.storage.database import refused_values

_STREAM_COLUMNS = (
    "c.name AS chronicle, s.name, s.attributes::text AS attributes, s.version, "
    "s.first_recorded_at, s.last_recorded_at, s.created_at"
)


def _chronicle(row: asyncpg.Record) -> Chronicle:
    return Chronicle(
        name=row["name"], attributes=orjson.loads(row["attributes"]), created_at=row["created_at"]
    )


def _stream(row: asyncpg.Record) -> Stream:
    return Stream(
        chronicle=row["chronicle"],
        name=row["name"],
        attributes=orjson.loads(row["attributes"]),
        version=row["version"],
        first_recorded_at=row["first_recorded_at"],
        last_recorded_at=row["last_recorded_at"],
        created_at=row["created_at"],
    )


def stream_not_found(chronicle: str, name: str) -> StreamNotFoundError:
    return StreamNotFoundError(
        f"stream {name!r} does not exist in chronicle {chronicle!r}",
        chronicle=chronicle,
        stream=name,
    )


def _json(value: dict[str, Any]) -> str:
    return encode_json(value, "attributes")


async def create_chronicle(pool: asyncpg.Pool, name: str, attributes: dict[str, Any]) -> Chronicle:
    """Create a chronicle; ChronicleExistsError when the name is taken."""
    with refused_values():
        row = await pool.fetchrow(
            "INSERT INTO chronicles (name, attributes) VALUES ($1, $2::jsonb) "
            "ON CONFLICT (name) DO NOTHING "
            "RETURNING name, attributes::text AS attributes, created_at",
            name,
            _json(attributes),
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


async def list_chronicles(pool: asyncpg.Pool, after: str | None, limit: int) -> Page[Chronicle]:
    """Chronicles in name order, after the name ``after``."""
    rows = await pool.fetch(
        "SELECT name, attributes::text AS attributes, created_at FROM chronicles "
        "WHERE $1::text IS NULL OR name > $1 ORDER BY name LIMIT $2",
        after,
        limit + 1,
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


async def delete_chronicle(pool: asyncpg.Pool, name: str) -> None:
    """Delete a chronicle with all its streams and events."""
    deleted = await pool.fetchval("DELETE FROM chronicles WHERE name = $1 RETURNING id", name)
    if deleted is None:
        raise ChronicleNotFoundError(f"chronicle {name!r} does not exist", chronicle=name)


async def chronicle_id(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> int:
    found: int | None = await conn.fetchval("SELECT id FROM chronicles WHERE name = $1", name)
    if found is None:
        raise ChronicleNotFoundError(f"chronicle {name!r} does not exist", chronicle=name)
    return found


async def acquire_stream(
    pool: asyncpg.Pool, chronicle: str, name: str, attributes: dict[str, Any]
) -> tuple[Stream, bool]:
    """Create the stream unless it exists (ChronoLog's acquire); return it and whether it is new.

    An existing stream keeps its attributes: acquiring is idempotent.
    """
    async with pool.acquire() as conn, conn.transaction():
        cid = await chronicle_id(conn, chronicle)
        with refused_values():
            created = await conn.fetchval(
                "INSERT INTO streams (chronicle_id, name, attributes) VALUES ($1, $2, $3::jsonb) "
                "ON CONFLICT (chronicle_id, name) DO NOTHING RETURNING id",
                cid,
                name,
                _json(attributes),
            )
        row = await conn.fetchrow(
            f"SELECT {_STREAM_COLUMNS} FROM streams s JOIN chronicles c ON c.id = s.chronicle_id "
            "WHERE s.chronicle_id = $1 AND s.name = $2",
            cid,
            name,
        )
    return _stream(row), created is not None


async def get_stream(pool: asyncpg.Pool, chronicle: str, name: str) -> Stream:
    row = await pool.fetchrow(
        f"SELECT {_STREAM_COLUMNS} FROM streams s JOIN chronicles c ON c.id = s.chronicle_id "
        "WHERE c.name = $1 AND s.name = $2",
        chronicle,
        name,
    )
    if row is None:
        await chronicle_id(pool, chronicle)
        raise stream_not_found(chronicle, name)
    return _stream(row)


async def list_streams(
    pool: asyncpg.Pool, chronicle: str, after: str | None, limit: int
) -> Page[Stream]:
    """Streams of a chronicle in name order, after the name ``after``."""
    cid = await chronicle_id(pool, chronicle)
    rows = await pool.fetch(
        f"SELECT {_STREAM_COLUMNS} FROM streams s JOIN chronicles c ON c.id = s.chronicle_id "
        "WHERE s.chronicle_id = $1 AND ($2::text IS NULL OR s.name > $2) "
        "ORDER BY s.name LIMIT $3",
        cid,
        after,
        limit + 1,
    )
    items = [_stream(r) for r in rows[:limit]]
    return Page(items=items, next=items[-1].name if len(rows) > limit else None)


async def delete_stream(pool: asyncpg.Pool, chronicle: str, name: str) -> None:
    """Delete a stream and its events. Positions are never reused."""
    cid = await chronicle_id(pool, chronicle)
    deleted = await pool.fetchval(
        "DELETE FROM streams WHERE chronicle_id = $1 AND name = $2 RETURNING id", cid, name
    )
    if deleted is None:
        raise stream_not_found(chronicle, name)


async def stream_id(conn: asyncpg.Connection | asyncpg.Pool, chronicle: str, name: str) -> int:
    """The id of an existing stream; ChronicleNotFoundError or StreamNotFoundError otherwise."""
    found: int | None = await conn.fetchval(
        "SELECT s.id FROM streams s JOIN chronicles c ON c.id = s.chronicle_id "
        "WHERE c.name = $1 AND s.name = $2",
        chronicle,
        name,
    )
    if found is None:
        await chronicle_id(conn, chronicle)
        raise stream_not_found(chronicle, name)
    return found
