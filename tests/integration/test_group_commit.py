"""Group commit: appends share a transaction, yet each succeeds or fails on its own."""

import asyncio
from dataclasses import replace

import asyncpg
import pytest
from prometheus_client import REGISTRY

from app.domain.events import AppendResult
from app.domain.expected_version import ExpectedState
from app.errors import (
    ChronicleNotFoundError,
    EventIdReusedError,
    UnavailableError,
    WrongExpectedVersionError,
)
from app.storage import catalog, reader
from app.storage.group_commit import GroupCommitter
from tests.integration.test_global_order import _events
from tests.support import TIMEOUT


async def test_failures_in_a_batch_are_isolated(database_url: str, chronicle: str) -> None:
    async with asyncpg.create_pool(database_url, min_size=2, max_size=4) as pool:
        committer = GroupCommitter(pool)
        committer.start()
        try:
            contenders = [
                committer.append(chronicle, "hot", _events(1), ExpectedState.NO_STREAM)
                for _ in range(20)
            ]
            bystanders = [
                committer.append(chronicle, f"calm{n}", _events(2), ExpectedState.NO_STREAM)
                for n in range(20)
            ]
            results = await asyncio.gather(*contenders, *bystanders, return_exceptions=True)
        finally:
            await committer.stop()

        hot, calm = results[:20], results[20:]
        assert sum(not isinstance(r, BaseException) for r in hot) == 1
        assert all(
            isinstance(r, WrongExpectedVersionError) for r in hot if isinstance(r, BaseException)
        )
        assert not any(isinstance(r, BaseException) for r in calm), calm
        page = await reader.read_all(pool, 0, 1000, chronicle)
        assert len(page.events) == 1 + 20 * 2
        # The rolled-back appends left no gap in any stream's versions.
        by_stream: dict[str, list[int]] = {}
        for event in page.events:
            by_stream.setdefault(event.stream, []).append(event.version)
        assert all(v == list(range(len(v))) for v in by_stream.values())


async def test_stopped_committer_refuses_with_unavailable(
    database_url: str, chronicle: str
) -> None:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
        committer = GroupCommitter(pool)
        committer.start()
        await committer.stop()
        with pytest.raises(UnavailableError):
            await committer.append(chronicle, "s", _events(1), ExpectedState.ANY)


async def test_one_statement_appends_and_fallback_share_a_batch(
    database_url: str, chronicle: str
) -> None:
    """Fast one-statement appends, savepoint appends and a reused id that aborts the batch's
    transaction, queued together: the batch is redone and each caller gets its own outcome."""
    async with asyncpg.create_pool(database_url, min_size=2, max_size=4) as pool:
        committer = GroupCommitter(pool)
        committer.start()
        try:
            names = [f"good{n}" for n in range(30)] + ["thief", "wrong", "empty"]
            for name in names[:-1]:
                await committer.append(chronicle, name, _events(1), ExpectedState.NO_STREAM)
            await catalog.acquire_stream(pool, chronicle, "empty", {})
            owned = _events(2)
            await committer.append(chronicle, "owner", owned, ExpectedState.NO_STREAM)
            retries = _retries()

            good = [
                committer.append(chronicle, f"good{n}", _events(2), 0, check_duplicates=False)
                for n in range(30)
            ]
            stolen = [*_events(1), owned[1]]  # one id from another stream: unique violation
            mixed = [
                # Server-made ids (one statement) that collide only in the database.
                committer.append(chronicle, "thief", stolen, 0, check_duplicates=False),
                committer.append(chronicle, "wrong", _events(1), 5, check_duplicates=False),
                committer.append(
                    chronicle, "empty", _events(1), ExpectedState.EMPTY, check_duplicates=False
                ),
                # Savepoint appends: a new stream, a checked reuse, an idempotent repeat.
                committer.append(chronicle, "fresh", _events(3), ExpectedState.NO_STREAM),
                committer.append(chronicle, "thief2", owned[:1], ExpectedState.ANY),
                committer.append(chronicle, "owner", owned, ExpectedState.ANY),
            ]
            results = await asyncio.gather(*good, *mixed, return_exceptions=True)
        finally:
            await committer.stop()

        assert _retries() == retries + 1  # the batch was redone once
        oks, (thief, wrong, empty, fresh, thief2, repeat) = results[:30], results[30:]
        for result in oks:
            assert isinstance(result, AppendResult), result
            assert [e.version for e in result.events] == [1, 2]
            assert result.stream_version == 2 and not result.created_stream
        assert isinstance(thief, EventIdReusedError), thief
        assert isinstance(wrong, WrongExpectedVersionError), wrong
        assert wrong.details["actual"] == 0
        assert isinstance(empty, AppendResult) and empty.stream_version == 0, empty
        assert isinstance(fresh, AppendResult) and fresh.created_stream, fresh
        assert [e.version for e in fresh.events] == [0, 1, 2]
        assert isinstance(thief2, EventIdReusedError), thief2
        assert isinstance(repeat, AppendResult) and repeat.duplicate, repeat
        assert [e.event_id for e in repeat.events] == [e.event_id for e in owned]

        # Exactly the successful appends are stored, with gap-free versions, increasing
        # recorded_at per stream, and positions in the order the batch committed them.
        page = await reader.read_all(pool, 0, 1000, chronicle)
        by_stream: dict[str, list[int]] = {}
        stamps: dict[str, list[int]] = {}
        for event in page.events:
            by_stream.setdefault(event.stream, []).append(event.version)
            stamps.setdefault(event.stream, []).append(event.recorded_at)
        expected_counts = {f"good{n}": 3 for n in range(30)}
        expected_counts |= {"thief": 1, "wrong": 1, "empty": 1, "fresh": 3, "owner": 2}
        assert {s: len(v) for s, v in by_stream.items()} == expected_counts
        assert all(v == list(range(len(v))) for v in by_stream.values())
        assert all(a < b for t in stamps.values() for a, b in zip(t, t[1:], strict=False))
        committed = [r for r in (*oks, empty, fresh) if isinstance(r, AppendResult)]
        written = [e.position for r in committed for e in r.events]
        assert written == sorted(written)
        for name in ("thief", "wrong"):
            assert (await catalog.get_stream(pool, chronicle, name)).version == 0
        assert (await catalog.get_stream(pool, chronicle, "good7")).version == 2
        latest = await pool.fetchval(
            "SELECT l.position FROM latest_events l JOIN streams s ON s.id = l.stream_id "
            "JOIN chronicles c ON c.id = s.chronicle_id WHERE c.name = $1 AND s.name = 'good7'",
            chronicle,
        )
        assert latest == committed[7].events[-1].position


def _retries() -> float:
    return REGISTRY.get_sample_value("chronicle_append_batch_retries_total") or 0.0


def _batches() -> float:
    return REGISTRY.get_sample_value("chronicle_append_batch_size_count") or 0.0


async def test_hot_stream_appends_in_one_batch_are_checked_one_after_another(
    database_url: str, chronicle: str
) -> None:
    """Appends to one stream queued together commit in one batch, each checked against the
    version the appends before it leave: exact versions chain, stale ones fail alone."""
    async with asyncpg.create_pool(database_url, min_size=2, max_size=4) as pool:
        committer = GroupCommitter(pool)
        committer.start()
        try:
            await committer.append(chronicle, "hot", _events(3), ExpectedState.NO_STREAM)
            batches = _batches()
            plan: list[tuple[int, ExpectedState | int]] = [
                (1, 2),  # -> 3
                (2, 3),  # -> 5
                (1, 3),  # stale: actual 5
                (1, 5),  # -> 6
                (1, ExpectedState.EMPTY),  # actual 6
                (1, ExpectedState.NO_STREAM),  # actual 6
                (2, ExpectedState.EXISTS),  # -> 8
                (1, ExpectedState.ANY),  # -> 9
                (1, 8),  # stale: actual 9
                (1, 9),  # -> 10
            ]
            results = await asyncio.gather(
                *(
                    committer.append(chronicle, "hot", _events(n), expected, check_duplicates=False)
                    for n, expected in plan
                ),
                return_exceptions=True,
            )
        finally:
            await committer.stop()

        assert _batches() == batches + 1
        versions: list[list[int] | int | None] = []
        for result in results:
            if isinstance(result, WrongExpectedVersionError):
                versions.append(result.details["actual"])
            else:
                assert isinstance(result, AppendResult), result
                versions.append([e.version for e in result.events])
        assert versions == [[3], [4, 5], 5, [6], 6, 6, [7, 8], [9], 9, [10]]
        written = [r for r in results if isinstance(r, AppendResult)]
        positions = [e.position for r in written for e in r.events]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        stamps = [e.recorded_at for r in written for e in r.events]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert written[-1].stream_version == 10
        info = await catalog.get_stream(pool, chronicle, "hot")
        assert info.version == 10 and info.event_count == 11
        page = await reader.read_stream(pool, chronicle, "hot", 0, reader.Direction.FORWARDS, 100)
        assert [e.version for e in page.events] == list(range(11))
        assert [e.event_id for e in page.events[3:]] == [
            e.event_id for r in written for e in r.events
        ]


async def test_mixed_batch_new_streams_repeats_and_conflicts(
    database_url: str, chronicle: str
) -> None:
    """One batch mixing what the one statement decides with what it leaves to the savepoint
    path: appends to a stream the batch itself creates keep their queue order, and a stale
    expected version with client-made ids is answered as the idempotent repeat it is."""
    async with asyncpg.create_pool(database_url, min_size=2, max_size=4) as pool:
        committer = GroupCommitter(pool)
        committer.start()
        try:
            first = _events(2)
            await committer.append(chronicle, "old", first, ExpectedState.NO_STREAM)
            await committer.append(chronicle, "old", _events(1), 1, check_duplicates=False)
            await committer.append(chronicle, "gone", _events(1), ExpectedState.NO_STREAM)
            await pool.execute(
                "UPDATE streams SET deletion = 'soft', deleted_before = version + 1 "
                "WHERE name = 'gone' AND chronicle_id = "
                "(SELECT id FROM chronicles WHERE name = $1)",
                chronicle,
            )
            batches = _batches()
            calls = [
                committer.append(chronicle, "new", _events(1), ExpectedState.NO_STREAM),
                committer.append(chronicle, "new", _events(2), 0, check_duplicates=False),
                committer.append(chronicle, "new", _events(1), 0, check_duplicates=False),
                committer.append(chronicle, "old", first, 0),  # a repeat, though old is at 2
                committer.append(chronicle, "old", _events(1), 2, check_duplicates=False),
                committer.append(chronicle, "old", _events(1), 2),  # client ids, stale
                committer.append(chronicle, "gone", _events(1), ExpectedState.NO_STREAM),
                committer.append("no-such-chronicle", "s", _events(1), ExpectedState.ANY),
            ]
            results = await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await committer.stop()

        assert _batches() == batches + 1
        new0, new1, new_stale, repeat, old3, old_stale, gone, missing = results
        assert isinstance(new0, AppendResult) and new0.created_stream, new0
        assert isinstance(new1, AppendResult) and [e.version for e in new1.events] == [1, 2]
        assert isinstance(new_stale, WrongExpectedVersionError), new_stale
        assert new_stale.details["actual"] == 2
        assert isinstance(repeat, AppendResult) and repeat.duplicate, repeat
        assert [e.version for e in repeat.events] == [0, 1]
        assert isinstance(old3, AppendResult) and old3.stream_version == 3, old3
        assert isinstance(old_stale, WrongExpectedVersionError), old_stale
        assert old_stale.details["actual"] == 3
        assert isinstance(gone, AppendResult) and gone.stream_version == 1, gone
        assert isinstance(missing, ChronicleNotFoundError), missing
        page = await reader.read_all(pool, 0, 1000, chronicle)
        by_stream: dict[str, list[int]] = {}
        for event in page.events:
            by_stream.setdefault(event.stream, []).append(event.version)
        assert by_stream == {"old": [0, 1, 2, 3], "gone": [1], "new": [0, 1, 2]}


async def test_a_streams_appends_keep_queue_order_across_flushers(
    database_url: str, chronicle: str
) -> None:
    """With small batches and several flushers, many batches are in flight at once; appends
    to one stream still commit in the order they were queued (each expects the version the
    one before it leaves), while appends to other streams go by in other batches."""
    async with asyncpg.create_pool(database_url, min_size=2, max_size=8) as pool:
        committer = GroupCommitter(pool, max_batch=3, flushers=4)
        committer.start()
        try:
            await committer.append(chronicle, "ordered", _events(1), ExpectedState.NO_STREAM)
            calls: list[asyncio.Task[AppendResult]] = []
            for i in range(60):
                calls.append(
                    asyncio.create_task(
                        committer.append(
                            chronicle, "ordered", _events(1), i, check_duplicates=False
                        )
                    )
                )
                calls.append(
                    asyncio.create_task(
                        committer.append(chronicle, f"other{i % 5}", _events(1), ExpectedState.ANY)
                    )
                )
                if i % 7 == 0:
                    await asyncio.sleep(0.001)  # let batches go in flight between waves
            results = await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await committer.stop()

        assert not [r for r in results if isinstance(r, BaseException)], results
        ordered = [r for r in results[::2] if isinstance(r, AppendResult)]
        assert [r.stream_version for r in ordered] == list(range(1, 61))
        positions = [r.events[0].position for r in ordered]
        assert positions == sorted(positions)


@pytest.mark.parametrize("flushers", [1, 3])
async def test_writers_that_wait_for_each_append_never_stall(
    database_url: str, chronicle: str, flushers: int
) -> None:
    """Writers that queue their next append only once the last one returned: each flush
    must find what came in while it was committing (or giving its connection back)."""
    async with asyncpg.create_pool(database_url, min_size=2, max_size=8) as pool:
        committer = GroupCommitter(pool, flushers=flushers)
        committer.start()

        async def writer(n: int) -> int:
            for version in range(20):
                expected = ExpectedState.NO_STREAM if version == 0 else version - 1
                await committer.append(chronicle, f"w{flushers}-{n}", _events(1), expected)
            return version

        try:
            async with asyncio.timeout(TIMEOUT):
                assert await asyncio.gather(*(writer(n) for n in range(8))) == [19] * 8
        finally:
            await committer.stop()


async def test_the_database_makes_the_ids_the_client_left_out(
    database_url: str, chronicle: str
) -> None:
    """Events without an id get one from the database, distinct and returned; in a publish
    that mixes given and missing ids, only the given ones make it a possible repeat."""
    async with asyncpg.create_pool(database_url, min_size=2, max_size=4) as pool:
        committer = GroupCommitter(pool)
        committer.start()
        try:
            anonymous = [replace(e, event_id=None) for e in _events(3)]
            made = await committer.append(
                chronicle, "ids", anonymous, ExpectedState.NO_STREAM, check_duplicates=False
            )
            more = await committer.append(
                chronicle, "ids", anonymous, 2, check_duplicates=False
            )  # the same values again: new events, new ids
            given = _events(1)[0]
            mixed = [replace(anonymous[0]), given, replace(anonymous[1])]
            first = await committer.append(chronicle, "ids", mixed, 5)
            with pytest.raises(EventIdReusedError):
                await committer.append(chronicle, "ids", mixed, ExpectedState.ANY)
        finally:
            await committer.stop()

        ids = [e.event_id for r in (made, more, first) for e in r.events]
        assert all(i is not None for i in ids) and len(set(ids)) == 9
        assert first.events[1].event_id == given.event_id
        page = await reader.read_stream(pool, chronicle, "ids", 0, reader.Direction.FORWARDS, 100)
        assert [e.event_id for e in page.events] == ids


async def test_stop_lets_batches_in_flight_commit_and_fails_the_queued(
    database_url: str, chronicle: str
) -> None:
    """Each caller learns the truth at shutdown: a result means written, 503 means not."""
    async with asyncpg.create_pool(database_url, min_size=2, max_size=8) as pool:
        committer = GroupCommitter(pool, max_batch=4, flushers=2)
        committer.start()
        calls = [
            asyncio.create_task(
                committer.append(chronicle, f"stop{n}", _events(1), ExpectedState.NO_STREAM)
            )
            for n in range(40)
        ]
        async with asyncio.timeout(TIMEOUT):
            while not committer._busy:  # until the flushers have taken their first batches
                await asyncio.sleep(0)
        await committer.stop()
        results = await asyncio.gather(*calls, return_exceptions=True)

        written = [r for r in results if isinstance(r, AppendResult)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert written and refused, results
        assert all(isinstance(r, UnavailableError) for r in refused), refused
        page = await reader.read_all(pool, 0, 1000, chronicle)
        assert sorted(e.position for e in page.events) == sorted(
            e.position for r in written for e in r.events
        )
        with pytest.raises(UnavailableError):
            await committer.append(chronicle, "late", _events(1), ExpectedState.ANY)
