"""Appending events: expected-version checks, idempotency, and commit-ordered positions."""

import asyncpg

from app.domain.events import AppendedEvent, AppendResult, NewEvent, RecordedEvent
from app.domain.expected_version import ExpectedState, ExpectedVersion, is_satisfied
from app.domain.retention import DeleteMode, recreates_soft_deleted
from app.errors import EventIdReusedError, WrongExpectedVersionError
from app.storage.catalog import chronicle_id, stream_deleted
from app.storage.database import refused_values
from app.storage.reader import EVENT_COLUMNS, recorded_event

# Held from drawing positions until commit. PostgreSQL makes a transaction visible before
# it releases its locks, so the next appender draws its positions only after this one is
# visible: position order equals commit order, and a reader of the global log that has
# seen position P can never later find a new event below P (the sequence-gap hazard).
APPEND_LOCK = 7_205_420_002

NOTIFY_CHANNEL = "chronicle_events"

_LOCK_STREAM = (
    "SELECT s.id, s.chronicle_id, s.version, s.last_recorded_at, s.deletion FROM streams s "
    "JOIN chronicles c ON c.id = s.chronicle_id "
    "WHERE c.name = $1 AND s.name = $2 FOR UPDATE OF s"
)

# The write of every append, in one statement and one round trip. Locks the stream row,
# checks the expected version in SQL, and writes only if it holds; a failed check writes
# nothing and raises nothing, so a batch's transaction goes on without a savepoint. One row
# per written event, or one row with the actual version and NULLs when the check failed, or
# no row when the stream (or chronicle) does not exist or is deleted. The savepoint path
# (_append) runs its own checks first (and recreates a soft-deleted stream), then calls
# this with "any". Group commit batches existing streams in storage/batch_append.py.
_APPEND = f"""
WITH s AS MATERIALIZED (
    SELECT s.id, s.chronicle_id, s.version, s.last_recorded_at FROM streams s
    JOIN chronicles c ON c.id = s.chronicle_id
    WHERE c.name = $1 AND s.name = $2 AND s.deletion IS NULL FOR UPDATE OF s
),
ok AS MATERIALIZED (
    SELECT * FROM s WHERE CASE $3::text
        WHEN 'any' THEN true
        WHEN 'exists' THEN true
        WHEN 'empty' THEN s.version = -1
        WHEN 'exact' THEN s.version = $4::bigint
        ELSE false
    END
),
new AS (
    SELECT e.*, ok.id AS stream_id, ok.chronicle_id, ok.version AS base_version, greatest(
        (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint,
        coalesce(ok.last_recorded_at, 0) + 1
    ) AS base
    FROM ok, unnest($5::uuid[], $6::text[], $7::text[], $8::bytea[], $9::text[], $10::text[],
                    $11::bigint[], $12::text[])
         WITH ORDINALITY AS e(event_id, type, data, data_bin, content_type, metadata,
                              source_timestamp, client_id, ord)
),
ins AS (
    INSERT INTO events (position, event_id, chronicle_id, stream_id, version, type, data,
                        data_bin, content_type, metadata, recorded_at, source_timestamp,
                        client_id)
    SELECT nextval('events_position_seq'), coalesce(event_id, gen_random_uuid()),
           chronicle_id, stream_id,
           base_version + ord, type, data::jsonb, data_bin, content_type, metadata::jsonb,
           base + ord - 1, source_timestamp, client_id
    FROM new ORDER BY ord
    RETURNING position, version, recorded_at, type, stream_id, chronicle_id, event_id
),
latest AS (
    -- One row per type: ON CONFLICT may not touch the same row twice in one statement.
    INSERT INTO latest_events (stream_id, type, chronicle_id, position)
    SELECT DISTINCT ON (type) stream_id, type, chronicle_id, position FROM ins
    ORDER BY type, position DESC
    ON CONFLICT (stream_id, type) DO UPDATE SET position = excluded.position
),
upd AS (
    UPDATE streams SET version = ok.version + cardinality($5::uuid[]),
        last_recorded_at = (SELECT max(recorded_at) FROM ins),
        first_recorded_at = coalesce(streams.first_recorded_at,
                                     (SELECT min(recorded_at) FROM ins))
    FROM ok WHERE streams.id = ok.id
    RETURNING pg_notify('{NOTIFY_CHANNEL}', '')
)
SELECT s.version AS actual, (SELECT count(*) FROM upd) AS updated,
       ins.position, ins.version, ins.recorded_at, ins.event_id
FROM s LEFT JOIN ins ON true ORDER BY ins.version
"""


async def append(
    pool: asyncpg.Pool,
    chronicle: str,
    stream: str,
    events: list[NewEvent],
    expected: ExpectedVersion,
    *,
    check_duplicates: bool = True,
) -> AppendResult:
    """Append ``events`` atomically at consecutive versions, or write nothing.

    Raises ChronicleNotFoundError, WrongExpectedVersionError, EventIdReusedError,
    StreamDeletedError (hard-deleted). A soft-deleted stream counts as no stream for the
    expected version (domain/retention.py) and is recreated, its versions continuing.
    Re-sending events already written to this stream (same ids, order and content)
    returns the original result and writes nothing. ``check_duplicates`` may be False
    only when every event id was generated by the server for this call.
    """
    async with pool.acquire() as conn, conn.transaction():
        await take_append_lock(conn)
        return await append_locked(conn, chronicle, stream, events, expected, check_duplicates)


async def take_append_lock(conn: asyncpg.Connection) -> None:
    """Take the append lock for the rest of ``conn``'s transaction.

    Always taken first, before any stream row lock, so that appends (batched or not)
    acquire locks in one order and cannot deadlock.
    """
    await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)


async def append_locked(
    conn: asyncpg.Connection,
    chronicle: str,
    stream: str,
    events: list[NewEvent],
    expected: ExpectedVersion,
    check_duplicates: bool,
) -> AppendResult:
    """The append itself, inside a transaction that holds the append lock."""
    with refused_values():
        return await _append(conn, chronicle, stream, events, expected, check_duplicates)


async def _append(
    conn: asyncpg.Connection,
    chronicle: str,
    stream: str,
    events: list[NewEvent],
    expected: ExpectedVersion,
    check_duplicates: bool,
) -> AppendResult:
    row = await conn.fetchrow(_LOCK_STREAM, chronicle, stream)
    created = False
    if row is None:
        cid = await chronicle_id(conn, chronicle)
        if not is_satisfied(expected, None):
            raise WrongExpectedVersionError(chronicle, stream, _shown(expected), None)
        created = (
            await conn.fetchval(
                "INSERT INTO streams (chronicle_id, name) VALUES ($1, $2) "
                "ON CONFLICT (chronicle_id, name) DO NOTHING RETURNING id",
                cid,
                stream,
            )
            is not None
        )
        # Lost a race with another creator: lock the row it made and check against it.
        row = await conn.fetchrow(_LOCK_STREAM, chronicle, stream)
        assert row is not None
    if row["deletion"] == DeleteMode.HARD:
        raise stream_deleted(chronicle, stream)
    recreate = row["deletion"] == DeleteMode.SOFT
    actual: int | None = None if created or recreate else row["version"]

    if check_duplicates:
        repeat = await _idempotent_repeat(conn, chronicle, stream, events)
        if repeat is not None:
            return AppendResult(
                events=[
                    AppendedEvent(e.event_id, e.version, e.position, e.recorded_at) for e in repeat
                ],
                stream_version=row["version"],
                created_stream=False,
                duplicate=True,
            )

    if recreate:
        if not recreates_soft_deleted(expected):
            raise WrongExpectedVersionError(chronicle, stream, _shown(expected), None)
        await conn.execute("UPDATE streams SET deletion = NULL WHERE id = $1", row["id"])
    elif not is_satisfied(expected, actual):
        raise WrongExpectedVersionError(chronicle, stream, _shown(expected), actual)

    try:
        # Checked above under the row lock this statement takes again (a no-op).
        written = await _write(conn, chronicle, stream, events, ExpectedState.ANY)
    except asyncpg.UniqueViolationError as error:
        # Another stream holds one of these ids (this stream's were checked above).
        raise EventIdReusedError(
            "an event id in this publish was already used by an event in another stream",
            chronicle=chronicle,
            stream=stream,
        ) from error
    return written_result(written, len(events), created or recreate)


async def _write(
    conn: asyncpg.Connection,
    chronicle: str,
    stream: str,
    events: list[NewEvent],
    expected: ExpectedVersion,
) -> list[asyncpg.Record]:
    kind, n = ("exact", expected) if isinstance(expected, int) else (expected.value, None)
    return await conn.fetch(
        _APPEND,
        chronicle,
        stream,
        kind,
        n,
        [e.event_id for e in events],
        [e.type for e in events],
        [e.json_data for e in events],
        [e.binary_data for e in events],
        [e.content_type for e in events],
        [e.metadata for e in events],
        [e.source_timestamp for e in events],
        [e.client_id for e in events],
    )


def written_result(written: list[asyncpg.Record], count: int, created: bool) -> AppendResult:
    """The result of an append of ``count`` events from the rows its statement returned
    (event_id, version, position, recorded_at), in version order."""
    appended = [
        AppendedEvent(w["event_id"], w["version"], w["position"], w["recorded_at"]) for w in written
    ]
    assert len(appended) == count, "one written row per event"
    return AppendResult(
        events=appended,
        stream_version=appended[-1].version,
        created_stream=created,
        duplicate=False,
    )


def _shown(expected: ExpectedVersion) -> str | int:
    return expected if isinstance(expected, int) else expected.value


async def _idempotent_repeat(
    conn: asyncpg.Connection, chronicle: str, stream: str, events: list[NewEvent]
) -> list[RecordedEvent] | None:
    """The stored events if ``events`` repeats an earlier publish exactly; None if all are new.

    Raises EventIdReusedError for anything in between: some ids new and some not, ids
    from another stream, another order, or the same id with different content.
    """
    ids = [e.event_id for e in events if e.event_id is not None]
    if len(set(ids)) != len(ids):
        raise EventIdReusedError("the same event id appears twice in one publish")
    if not ids:
        return None
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS} FROM events e JOIN streams s ON s.id = e.stream_id "
        "JOIN chronicles c ON c.id = e.chronicle_id "
        "WHERE e.event_id = ANY($1::uuid[]) ORDER BY e.position",
        ids,
    )
    if not rows:
        return None
    stored = [recorded_event(r) for r in rows]
    by_id = {e.event_id: e for e in stored}
    for index, new in enumerate(events):
        old = None if new.event_id is None else by_id.get(new.event_id)
        if old is None:
            raise EventIdReusedError(
                f"event {new.event_id or index} is new but others in this publish were "
                "written before: re-send exactly the earlier batch, or use fresh ids",
                event_id=str(new.event_id) if new.event_id else None,
            )
        if (old.chronicle, old.stream) != (chronicle, stream):
            raise EventIdReusedError(
                f"event id {new.event_id} belongs to an event in stream "
                f"{old.chronicle}/{old.stream}",
                event_id=str(new.event_id),
            )
        if not old.same_content(new):
            raise EventIdReusedError(
                f"event id {new.event_id} was already used for an event with different content",
                event_id=str(new.event_id),
            )
    versions = [by_id[i].version for i in ids]
    if versions != list(range(versions[0], versions[0] + len(versions))):
        raise EventIdReusedError(
            "these event ids were written before in another order or grouping",
        )
    return [by_id[i] for i in ids]
