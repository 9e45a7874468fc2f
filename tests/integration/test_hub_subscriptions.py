"""Subscriptions over a real WebSocket: scopes, starts, catch-up then live with no gap and no
duplicate while writers publish concurrently, stop and cancel."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.client import CallError, Connection, Subscription
from tests.integration.hub_servers import ws_url
from tests.support import ADMIN_KEY, TIMEOUT


@pytest.fixture
async def conn(server: str) -> AsyncIterator[Connection]:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as c:
        yield c


async def publish(conn: Connection, chronicle: str, stream: str, *data: Any) -> dict[str, Any]:
    result: dict[str, Any] = await conn.call(
        "publish",
        {
            "chronicle": chronicle,
            "stream": stream,
            "events": [{"type": "t", "data": d} for d in data],
        },
    )
    return result


async def take(subscription: Subscription, count: int) -> list[dict[str, Any]]:
    """The next ``count`` events, failing after TIMEOUT."""
    events: list[dict[str, Any]] = []
    if count == 0:
        return events
    async with asyncio.timeout(TIMEOUT):
        async for event in subscription:
            events.append(event)
            if len(events) == count:
                break
    return events


async def test_stream_catch_up_then_live_then_stop(conn: Connection, chronicle: str) -> None:
    await publish(conn, chronicle, "s", 0, 1, 2)
    sub = await conn.subscribe_to(chronicle, "s", start_from="start")
    assert sub.start == {"kind": "subscribed", "scope": "stream", "from": 0}
    assert [e["data"] for e in await take(sub, 3)] == [0, 1, 2]
    async with asyncio.timeout(TIMEOUT):
        await sub.caught_up.wait()
    await publish(conn, chronicle, "s", 3)
    await publish(conn, chronicle, "other", "not me")
    await publish(conn, chronicle, "s", 4, 5)
    assert [e["version"] for e in await take(sub, 3)] == [3, 4, 5]
    ended = await sub.stop()
    assert ended == {"reason": "stopped", "next": 6, "delivered": 6}
    assert sub.call.acks == 1  # the stop send was acknowledged


async def test_start_end_and_start_version(conn: Connection, chronicle: str) -> None:
    await publish(conn, chronicle, "s", 0, 1, 2, 3)
    only_new = await conn.subscribe_to(chronicle, "s", start_from="end")
    assert only_new.start["from"] == 4
    from_two = await conn.subscribe_to(chronicle, "s", start_from=2)
    await publish(conn, chronicle, "s", 4)
    assert [e["data"] for e in await take(only_new, 1)] == [4]
    assert [e["data"] for e in await take(from_two, 3)] == [2, 3, 4]
    await only_new.stop()
    await from_two.stop()


async def test_stream_that_does_not_exist_yet(conn: Connection, chronicle: str) -> None:
    sub = await conn.subscribe_to(chronicle, "later", start_from="end")
    assert sub.start["from"] == 0
    await publish(conn, chronicle, "later", "first")
    assert [e["data"] for e in await take(sub, 1)] == ["first"]
    await sub.stop()


async def test_chronicle_and_all_scopes(conn: Connection, chronicle: str) -> None:
    whole = await conn.subscribe_to(chronicle, start_from="end")
    everything = await conn.subscribe_to(start_from="end")
    assert (whole.start["scope"], everything.start["scope"]) == ("chronicle", "all")
    written = await publish(conn, chronicle, "a", 1)
    written_b = await publish(conn, chronicle, "b", 2)
    positions = [written["events"][0]["position"], written_b["events"][0]["position"]]
    assert [e["position"] for e in await take(whole, 2)] == positions
    seen = [e for e in await take(everything, 2)]
    assert [e["position"] for e in seen] == positions  # nothing else publishes meanwhile
    # a position start on the global log
    replayed = await conn.subscribe_to(start_from=positions[1])
    assert [e["data"] for e in await take(replayed, 1)] == [2]
    for sub in (whole, everything, replayed):
        await sub.stop()


async def test_no_gap_no_duplicate_while_publishing_during_catch_up(
    server: str, chronicle: str
) -> None:
    """Writers publish concurrently while subscribers catch up through several pages."""
    history, writers, per_writer = 450, 4, 60
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as writer:
        for start in range(0, history, 50):
            await publish(writer, chronicle, "hot", *range(start, start + 50))

        async def write(w: int) -> list[str]:
            ids = []
            for i in range(per_writer):
                stream = "hot" if i % 2 else f"w{w}"
                result = await publish(writer, chronicle, stream, f"{w}-{i}")
                ids.append(result["events"][0]["event_id"])
            return ids

        async with Connection(ws_url(server), api_key=ADMIN_KEY) as reader:
            chronicle_sub = await reader.subscribe_to(chronicle, start_from="start")
            stream_sub = await reader.subscribe_to(chronicle, "hot", start_from="start")
            # the global log, live only: concurrent commits must never be skipped
            global_sub = await reader.subscribe_to(start_from="end")
            writing = asyncio.gather(*(write(w) for w in range(writers)))
            total = history + writers * per_writer
            hot_total = history + writers * per_writer // 2
            seen, hot = await asyncio.gather(
                take(chronicle_sub, total), take(stream_sub, hot_total)
            )
            written = [i for ids in await writing for i in ids]
            live = [e for e in await take(global_sub, len(written)) if e["chronicle"] == chronicle]
            assert [e["event_id"] for e in live] == [e["event_id"] for e in seen[history:]]

            positions = [e["position"] for e in seen]
            assert positions == sorted(set(positions)), "out of order or duplicated"
            assert len(seen) == total
            assert {e["event_id"] for e in seen[history:]} == set(written)
            assert [e["version"] for e in hot] == list(range(hot_total)), "gap or duplicate"
            # and nothing more arrives after the last one
            await publish(writer, chronicle, "hot", "last")
            (last,) = await take(stream_sub, 1)
            assert last["version"] == hot_total and last["data"] == "last"
            for sub in (chronicle_sub, stream_sub, global_sub):
                await sub.stop()


async def test_cancel_ends_the_subscription(conn: Connection, chronicle: str) -> None:
    sub = await conn.subscribe_to(chronicle, "s")
    await sub.call.cancel()
    assert await sub.call.result() == {"cancelled": True}
    assert sub.call.acks == 1


async def test_subscribe_errors(conn: Connection) -> None:
    with pytest.raises(CallError) as unknown:
        await conn.subscribe_to("no-such-chronicle-here", "s")
    assert unknown.value.code == "chronicle_not_found"
    with pytest.raises(CallError) as bad:
        await conn.subscribe_to(None, "s")
    assert bad.value.code == "validation_error"
    with pytest.raises(CallError) as negative:
        await conn.subscribe_to("c", "s", start_from=-1)
    assert negative.value.code == "validation_error"


async def test_type_patterns_filter_a_subscription(conn: Connection, chronicle: str) -> None:
    sub = await conn.subscribe_to(chronicle, start_from="end", types=["sensor/?/room1", "alarm/*"])
    for event_type in ("sensor/temp/room1", "sensor/temp/room2", "alarm", "alarm/fire", "other"):
        await conn.publish_event(chronicle, "s", event_type, None)
    assert [e["type"] for e in await take(sub, 3)] == ["sensor/temp/room1", "alarm", "alarm/fire"]
    assert (await sub.stop())["next"] > 0
    with pytest.raises(CallError) as bad:
        await conn.subscribe_to(chronicle, types=["*/x"])
    assert bad.value.code == "invalid_pattern"


async def test_start_at_a_time(conn: Connection, chronicle: str) -> None:
    await publish(conn, chronicle, "s", 0)
    await publish(conn, chronicle, "other", "x")
    await publish(conn, chronicle, "s", 1, 2)
    stored = await conn.start("read", {"chronicle": chronicle})
    events = [e async for e in stored]
    at = events[1]["recorded_at"]  # the "other" event
    by_stream = await conn.subscribe_to(chronicle, "s", start_from={"time": at})
    assert [e["data"] for e in await take(by_stream, 2)] == [1, 2]
    by_chronicle = await conn.subscribe_to(chronicle, start_from={"time": at})
    assert [e["data"] for e in await take(by_chronicle, 3)] == ["x", 1, 2]
    future = await conn.subscribe_to(chronicle, start_from={"time": 2**62})
    assert future.start["from"] == events[-1]["position"] + 1
    for sub in (by_stream, by_chronicle, future):
        await sub.stop()


@pytest.mark.parametrize("scope", ["chronicle", "all"])
async def test_rare_type_past_many_pages_of_others(
    conn: Connection, chronicle: str, scope: str
) -> None:
    """Chronicle and global subscriptions filter by type in SQL: a rare type arrives past
    more non-matching history than a page holds, then live, and nothing else does."""
    rare = f"rare/{chronicle}"  # no other test's events match, even in the global log
    noise = [{"type": "noise/tick", "data": i} for i in range(50)]
    for _ in range(10):  # 500 non-matching events: more than two subscription pages
        await conn.call("publish", {"chronicle": chronicle, "stream": "n", "events": noise})
    await conn.publish_event(chronicle, "r", f"{rare}/one", 1)
    subscription = await conn.subscribe_to(
        chronicle if scope == "chronicle" else None, start_from="start", types=[f"{rare}/*"]
    )
    assert [e["data"] for e in await take(subscription, 1)] == [1]
    async with asyncio.timeout(TIMEOUT):
        await subscription.caught_up.wait()
    await conn.call(
        "publish",
        {
            "chronicle": chronicle,
            "stream": "r",
            "events": [{"type": "noise/x"}, {"type": f"{rare}/two", "data": 2}],
        },
    )
    assert [e["data"] for e in await take(subscription, 1)] == [2]
    await subscription.stop()
