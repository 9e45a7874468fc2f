"""Two real uvicorn processes on one database: events reach subscribers on the other."""

import asyncio

import asyncpg

from app.client import Connection
from app.config import Settings
from tests.integration.hub_servers import serve, uvicorn_process, ws_url
from tests.support import ADMIN_KEY, TIMEOUT, wait_for


async def test_events_cross_processes_both_ways(
    server: str, database_url: str, chronicle: str
) -> None:
    # Polling off in the other process: only a NOTIFY from this one can wake its subscriber.
    async with (
        uvicorn_process(database_url, ws_subscription_poll_interval="3600") as other,
        Connection(ws_url(server), api_key=ADMIN_KEY) as here,
        Connection(ws_url(other), api_key=ADMIN_KEY) as there,
    ):
        sub_there = await there.subscribe_to(chronicle, "s", start_from="end")
        sub_here = await here.subscribe_to(chronicle, start_from="end")
        await here.publish_event(chronicle, "s", "from/here", 1)
        await there.publish_event(chronicle, "s", "from/there", 2)
        async with asyncio.timeout(TIMEOUT):
            got_there = [e async for e in _first(sub_there, 2)]
            got_here = [e async for e in _first(sub_here, 2)]
        assert [e["type"] for e in got_there] == ["from/here", "from/there"]
        assert got_here == got_there
        assert (await there.call("stats"))["notifications"] >= 1
        await sub_there.stop()
        await sub_here.stop()


async def _first(subscription, count):  # type: ignore[no-untyped-def]
    seen = 0
    async for event in subscription:
        yield event
        seen += 1
        if seen == count:
            return


async def test_listener_reconnects_and_wakes_subscribers(
    settings: Settings, pool: asyncpg.Pool, chronicle: str
) -> None:
    """With polling off, only the LISTEN connection can wake a subscriber: kill it."""
    quiet = settings.model_copy(update={"ws_subscription_poll_interval": 3600.0})
    async with serve(quiet) as (base, _), Connection(ws_url(base), api_key=ADMIN_KEY) as conn:
        sub = await conn.subscribe_to(chronicle, "s", start_from="end")
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        assert killed >= 1

        async def reconnected() -> bool:
            stats = await conn.call("stats")
            return bool(stats["listening"] and stats["listener_connects"] >= 2)

        await wait_for(reconnected, what="the listener to reconnect")
        await conn.publish_event(chronicle, "s", "after/reconnect", 1)
        async with asyncio.timeout(TIMEOUT):
            got = [e async for e in _first(sub, 1)]
        assert got[0]["type"] == "after/reconnect"
        await sub.stop()
