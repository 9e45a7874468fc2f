"""Group commit: appends share a transaction, yet each succeeds or fails on its own."""

import asyncio

import asyncpg
import pytest

from app.domain.expected_version import ExpectedState
from app.errors import UnavailableError, WrongExpectedVersionError
from app.storage import reader
from app.storage.group_commit import GroupCommitter
from tests.integration.test_global_order import _events


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
