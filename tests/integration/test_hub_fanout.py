"""Shared live reads (hub/fanout.py): one reader per process feeds many subscriptions, each
with its own cursor and bounded feed, falling back to its own database reads when behind."""

import asyncio
from typing import Any

import asyncpg
import httpx
import orjson
from websockets.asyncio.client import connect

from app.client import Connection
from app.config import Settings
from app.hub.fanout import APPLICATION_NAME, Fanout
from app.storage import catalog, event_json
from app.storage.notifications import Listener
from tests.integration.hub_servers import serve, uvicorn_process, ws_url
from tests.integration.test_hub_backpressure import BATCH, EVENTS, noise, small_buffer_socket
from tests.integration.test_hub_subscriptions import publish, take
from tests.support import ADMIN_KEY, AUTH, TIMEOUT, fresh_name, wait_for


async def test_many_subscribers_on_one_scope_share_one_reader(
    settings: Settings, chronicle: str
) -> None:
    subscribers, commits = 40, 12
    async with serve(settings) as (base, _), Connection(ws_url(base), api_key=ADMIN_KEY) as writer:
        await publish(writer, chronicle, "s", "history")
        readers = [await stack_connection(base) for _ in range(4)]
        try:
            subs = [
                await readers[n % 4].subscribe_to(chronicle, "s", start_from="start")
                for n in range(subscribers)
            ]
            for sub in subs:
                assert [e["data"] for e in await take(sub, 1)] == ["history"]
                async with asyncio.timeout(TIMEOUT):
                    await sub.caught_up.wait()
            before = await writer.call("stats")
            assert before["live_feeds"] == subscribers
            for n in range(commits):
                await publish(writer, chronicle, "s", n)
            for sub in subs:
                assert [e["data"] for e in await take(sub, commits)] == list(range(commits))
            after = await writer.call("stats")
            # Live events came from the shared reader, not from one query per subscriber.
            assert after["subscription_reads"] == before["subscription_reads"]
            assert after["live_reads"] - before["live_reads"] <= commits + 2
            for sub in subs:
                await sub.stop()
            assert (await writer.call("stats"))["live_feeds"] == 0
        finally:
            for conn in readers:
                await conn.__aexit__(None, None, None)


async def stack_connection(base: str) -> Connection:
    conn = Connection(ws_url(base), api_key=ADMIN_KEY)
    await conn.__aenter__()
    return conn


async def test_one_slow_subscriber_among_fast_ones_catches_up_from_the_database(
    settings: Settings, chronicle: str
) -> None:
    """The slow one's feed overflows; the fast ones keep receiving every event from the
    shared reader; the slow one later receives everything, in order, from the database."""
    tiny = settings.model_copy(update={"ws_send_queue_size": 4, "ws_subscription_live_buffer": 64})
    async with serve(tiny) as (base, _):
        url = ws_url(base)
        async with (
            connect(
                url,
                additional_headers=AUTH,
                max_queue=1,
                max_size=None,
                sock=small_buffer_socket(url),
            ) as slow,
            Connection(url, api_key=ADMIN_KEY) as fast,
            Connection(url, api_key=ADMIN_KEY) as writer,
        ):
            params = {"chronicle": chronicle, "stream": "s", "start": "end"}
            frame = {"type": "call", "id": "slow", "method": "subscribe", "params": params}
            await slow.send(orjson.dumps(frame).decode())
            fast_subs = [
                await fast.subscribe_to(chronicle, "s", start_from="end") for _ in range(5)
            ]
            chronicle_sub = await fast.subscribe_to(chronicle, start_from="end")
            await wait_feeds(writer, 7)
            slow.transport.pause_reading()
            # More than the socket buffers hold, so the slow one really is stuck.
            for start in range(0, EVENTS, BATCH):
                data = [[i, noise()] for i in range(start, start + BATCH)]
                await publish(writer, chronicle, "s", *data)
            for sub in [*fast_subs, chronicle_sub]:
                got = await take(sub, EVENTS)
                assert [e["data"][0] for e in got] == list(range(EVENTS))
            assert (await writer.call("stats"))["max_queue_depth"] <= 4

            reads_before = (await writer.call("stats"))["subscription_reads"]
            slow.transport.resume_reading()
            versions = await read_versions(slow, EVENTS)
            assert versions == list(range(EVENTS))
            # It fell behind and caught up by reading the database itself.
            assert (await writer.call("stats"))["subscription_reads"] > reads_before
            for sub in [*fast_subs, chronicle_sub]:
                await sub.stop()


async def wait_feeds(conn: Connection, count: int) -> None:
    async with asyncio.timeout(TIMEOUT):
        while (await conn.call("stats"))["live_feeds"] < count:
            await asyncio.sleep(0.01)


async def read_versions(ws: Any, count: int) -> list[int]:
    versions: list[int] = []
    async with asyncio.timeout(TIMEOUT * 3):
        while len(versions) < count:
            message = orjson.loads(await ws.recv())
            if message["type"] == "ping":
                await ws.send(orjson.dumps({"type": "pong"}).decode())
            elif message["type"] == "data" and message["data"]["kind"] == "event":
                versions.append(message["data"]["event"]["version"])
    return versions


async def test_catch_up_and_live_interleave_under_concurrent_writers(
    settings: Settings, chronicle: str
) -> None:
    """Subscribers join at different moments from the start while writers publish; a small
    live buffer makes some of them overflow and go back to the database mid-way. Each one
    sees every event exactly once, in order."""
    writers, per_writer = 4, 40
    small = settings.model_copy(
        update={"ws_subscription_page_size": 7, "ws_subscription_live_buffer": 5}
    )
    total = writers * per_writer
    async with serve(small) as (base, _), Connection(ws_url(base), api_key=ADMIN_KEY) as writer:
        for n in range(30):
            await publish(writer, chronicle, f"w{n % writers}", f"h{n}")

        async def write(w: int) -> None:
            for i in range(per_writer):
                await publish(writer, chronicle, "hot" if i % 2 else f"w{w}", f"{w}-{i}")

        async with Connection(ws_url(base), api_key=ADMIN_KEY) as reader:
            writing = asyncio.gather(*(write(w) for w in range(writers)))
            subs = []
            for n in range(6):
                subs.append(await reader.subscribe_to(chronicle, start_from="start"))
                subs.append(await reader.subscribe_to(chronicle, "hot", start_from="start"))
                await asyncio.sleep(0.02 * n)  # join at different points of the writing
            await writing
            for n, sub in enumerate(subs):
                if n % 2 == 0:
                    got = await take(sub, 30 + total)
                    positions = [e["position"] for e in got]
                    assert positions == sorted(set(positions)), "out of order or duplicated"
                else:
                    got = await take(sub, total // 2)
                    assert [e["version"] for e in got] == list(range(total // 2))
            # and nothing more: the next event is the one published now
            await publish(writer, chronicle, "hot", "last")
            for sub in subs[1::2]:
                assert [e["data"] for e in await take(sub, 1)] == ["last"]
            for sub in subs:
                await sub.stop()


async def test_events_written_by_another_process_reach_every_local_subscriber(
    database_url: str, settings: Settings, chronicle: str
) -> None:
    quiet = settings.model_copy(
        update={"ws_subscription_poll_interval": 3600.0, "ws_max_subscriptions": 21}
    )
    async with (
        uvicorn_process(database_url) as other,
        serve(quiet) as (base, _),
        Connection(ws_url(base), api_key=ADMIN_KEY) as here,
        Connection(ws_url(other), api_key=ADMIN_KEY) as there,
    ):
        subs = [await here.subscribe_to(chronicle, "s", start_from="end") for _ in range(10)]
        subs += [await here.subscribe_to(chronicle, start_from="end") for _ in range(10)]
        subs += [await here.subscribe_to(start_from="end", types=[f"{chronicle}/*"])]
        for n in range(5):
            await there.publish_event(chronicle, "s", f"{chronicle}/n", n)
        for sub in subs:
            assert [e["data"] for e in await take(sub, 5)] == list(range(5))
        stats = await here.call("stats")
        assert stats["live_feeds"] == len(subs)
        for sub in subs:
            await sub.stop()


async def test_the_shared_reader_reconnects_and_reads_on(
    settings: Settings, pool: asyncpg.Pool, chronicle: str
) -> None:
    """Its own database connection dies between commits: the next commit is delivered."""
    async with serve(settings) as (base, _), Connection(ws_url(base), api_key=ADMIN_KEY) as conn:
        sub = await conn.subscribe_to(chronicle, "s", start_from="end")
        await publish(conn, chronicle, "s", "before")
        assert [e["data"] for e in await take(sub, 1)] == ["before"]

        async def connected() -> bool:  # it connects on its first read
            return bool((await conn.call("stats"))["live_reads"] >= 1)

        await wait_for(connected, what="the shared reader's first read")
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            APPLICATION_NAME,
        )
        assert killed >= 1
        for n in range(3):
            await publish(conn, chronicle, "s", n)
        assert [e["data"] for e in await take(sub, 3)] == [0, 1, 2]
        await sub.stop()


async def test_a_feed_of_the_global_log_keeps_to_its_chronicles(
    database_url: str, settings: Settings, pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    """A global-log feed limited to some chronicles (what a caller may read) is offered
    only their events, like its database reads (reader.log_rows chronicle_ids)."""
    mine, other = fresh_name("c"), fresh_name("c")
    for name in (mine, other):
        assert (await client.post("/chronicles", json={"name": name})).status_code == 201
    allowed = frozenset({await catalog.chronicle_id(pool, mine)})
    listener = Listener(database_url)
    await listener.start()
    fanout = Fanout(pool, database_url, listener, 100, settings.ws_subscription_poll_interval)
    try:
        limited = await fanout.attach(None, None, None, 100, allowed)
        everything = await fanout.attach(None, None, None, 100)
        for name in (other, mine, other):
            response = await client.post(
                f"/chronicles/{name}/streams/s/events", json={"events": [{"type": name}]}
            )
            assert response.status_code == 201
        seen: list[str] = []
        async with asyncio.timeout(TIMEOUT):
            while len(seen) < 3:
                await everything.wait()
                seen += [
                    e.event.chronicle
                    for e in everything.take()
                    if e.event.chronicle in (mine, other)
                ]
        assert seen == [other, mine, other]
        assert [live.event.chronicle for live in limited.take()] == [mine]
        found, _ = await event_json.read_log_json(pool, 0, 100, None, None, allowed)
        assert {orjson.loads(e.json)["chronicle"] for e in found} == {mine}
    finally:
        await fanout.stop()
        await listener.stop()
