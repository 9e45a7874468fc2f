"""The global log never lets a reader skip an event that commits after a later-numbered one.

With a plain sequence, a transaction that drew position P but commits after the one that
drew P+1 would appear behind a reader's cursor (the sequence-gap hazard). Appends here draw
positions under a lock held to commit; these tests hammer that with concurrent writers while
a reader follows the log, once in-process at full speed and once over HTTP.
"""

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from app.domain.events import NewEvent
from app.domain.expected_version import ExpectedState
from app.storage import appender, reader
from app.storage.group_commit import GroupCommitter
from tests.support import TIMEOUT

WRITERS = 32


def _events(n: int) -> list[NewEvent]:
    return [
        NewEvent(
            event_id=uuid.uuid4(),
            type="w",
            json_data="1",
            binary_data=None,
            content_type="application/json",
            metadata="{}",
            source_timestamp=None,
            client_id=None,
        )
        for _ in range(n)
    ]


async def _follow(read_page, done: asyncio.Event) -> list[int]:  # type: ignore[no-untyped-def]
    """Page through the log until the writers are done and a page comes back empty."""
    seen: list[int] = []
    cursor = 0
    while True:
        finished = done.is_set()
        positions, cursor_next = await read_page(cursor)
        # Nothing may appear below a position already passed.
        assert all(p >= cursor for p in positions), (cursor, positions)
        seen += positions
        cursor = cursor_next
        if finished and not positions:
            return seen
        if not positions:
            await asyncio.sleep(0)


@pytest.mark.parametrize("mode", ["direct", "group_commit", "both", "two_committers"])
async def test_follower_never_skips_in_process(
    database_url: str, chronicle: str, mode: str
) -> None:
    """Writers append straight through the appender, through group commit, half each, or
    through two group committers (as two server processes would, each batching its own)."""
    written: set[int] = set()
    done = asyncio.Event()
    async with asyncpg.create_pool(database_url, min_size=4, max_size=WRITERS + 2) as pool:
        committers = [GroupCommitter(pool), GroupCommitter(pool)]
        for committer in committers:
            committer.start()

        async def writer(n: int) -> None:
            grouped = mode in ("group_commit", "two_committers") or (mode == "both" and n % 2)
            committer = committers[n % 2 if mode == "two_committers" else 0]
            for i in range(25):
                events = _events(1 + i % 3)
                if grouped:
                    result = await committer.append(
                        chronicle, f"w{n}", events, ExpectedState.ANY, check_duplicates=False
                    )
                else:
                    result = await appender.append(
                        pool,
                        chronicle,
                        f"w{n}",
                        events,
                        ExpectedState.ANY,
                        check_duplicates=False,
                    )
                written.update(e.position for e in result.events)

        async def read_page(cursor: int) -> tuple[list[int], int]:
            page = await reader.read_all(pool, cursor, 50, chronicle)
            return [e.position for e in page.events], page.next or cursor

        try:
            async with asyncio.timeout(TIMEOUT * 6):
                following = asyncio.create_task(_follow(read_page, done))
                await asyncio.gather(*(writer(n) for n in range(WRITERS)))
                done.set()
                seen = await following
        finally:
            for committer in committers:
                await committer.stop()

    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert set(seen) == written and len(written) == WRITERS * sum(1 + i % 3 for i in range(25))


async def test_follower_never_skips_over_http(client: httpx.AsyncClient, chronicle: str) -> None:
    written: set[int] = set()
    done = asyncio.Event()

    async def writer(n: int) -> None:
        for i in range(10):
            batch = [{"type": "w", "data": [n, i, k]} for k in range(1 + i % 3)]
            response = await client.post(
                f"/chronicles/{chronicle}/streams/w{n}/events", json={"events": batch}
            )
            assert response.status_code == 201, response.text
            written.update(e["position"] for e in response.json()["events"])

    async def read_page(cursor: int) -> tuple[list[int], int]:
        response = await client.get(
            "/events", params={"chronicle": chronicle, "from": cursor, "limit": 7}
        )
        page = response.json()
        return [e["position"] for e in page["events"]], page["next"]

    async with asyncio.timeout(TIMEOUT * 6):
        following = asyncio.create_task(_follow(read_page, done))
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        done.set()
        seen = await following

    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert set(seen) == written
