"""Persistent subscriptions over real WebSockets: acks, ack timeouts, nacks, parking and
replay, in-flight limits, both strategies, a consumer leaving, and bad answers."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from app.client import CallError, Connection
from tests.integration.hub_servers import ws_url
from tests.integration.persistent_support import (
    SHORT_ACK_TIMEOUT,
    create_group,
    group_info,
    publish,
    take,
    wait_for_group,
)
from tests.support import ADMIN_KEY, TIMEOUT, wait_for


@pytest.fixture
async def conn(server: str) -> AsyncIterator[Connection]:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as c:
        yield c


async def test_acked_events_finish_and_an_unacked_one_comes_again_after_the_timeout(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    await create_group(client, chronicle, "g", settings={"ack_timeout": SHORT_ACK_TIMEOUT})
    written = await publish(client, chronicle, "s", 0, 1, 2)
    sub = await conn.connect_subscription("g", chronicle)
    first = await take(sub, 3)
    assert [(i.event["data"], i.retry_count) for i in first] == [(0, 0), (1, 0), (2, 0)]
    await sub.ack(first[0], first[2])

    [again] = await take(sub, 1)
    assert (again.event["data"], again.retry_count) == (1, 1)
    info = await group_info(client, chronicle, "g")
    assert info["checkpoint"] == written[1]["position"]  # 1 holds it back; 2 is done
    await sub.ack(again)
    await wait_for_group(
        client, chronicle, "g", checkpoint=written[2]["position"] + 1, in_flight=0, pending=0
    )
    ended = await sub.stop()
    assert ended["reason"] == "stopped" and ended["delivered"] == 4 and ended["acked"] == 3
    assert conn.errors == []


async def test_nack_retry_park_skip_then_parked_events_are_listed_and_replayed(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    await create_group(client, chronicle, "g", settings={"max_retries": 1})
    await publish(client, chronicle, "s", "retry", "park", "skip", "done")
    sub = await conn.connect_subscription("g", chronicle)
    retry, park, skip, done = await take(sub, 4)
    await sub.nack(retry, action="retry")
    await sub.nack(park, action="park", reason="bad payload")
    await sub.nack(skip, action="skip")
    await sub.ack(done)
    [again] = await take(sub, 1)
    assert (again.event["data"], again.retry_count) == ("retry", 1)
    await sub.nack(again, action="retry", reason="still failing")  # past max_retries: parked

    info = await wait_for_group(client, chronicle, "g", parked=2, in_flight=0, pending=0)
    parked = (await client.get(f"/chronicles/{chronicle}/subscriptions/g/parked")).json()
    assert [(p["event"]["data"], p["retry_count"]) for p in parked["items"]] == [
        ("retry", 2),
        ("park", 0),
    ]
    assert "max retries (1) exceeded" in parked["items"][0]["reason"]
    assert "still failing" in parked["items"][0]["reason"]
    assert parked["items"][1]["reason"] == "bad payload"
    assert info["checkpoint"] > done.event["position"]  # parked events count as finished

    replay = await client.post(f"/chronicles/{chronicle}/subscriptions/g/parked/replay")
    assert replay.status_code == 200 and replay.json() == {"replayed": 2}
    replayed = await take(sub, 2)
    assert [(i.event["data"], i.retry_count) for i in replayed] == [("retry", 0), ("park", 0)]
    await sub.ack(*replayed)
    after = await wait_for_group(client, chronicle, "g", parked=0, in_flight=0, pending=0)
    assert after["checkpoint"] == info["checkpoint"]  # replays never moved it
    await sub.stop()
    assert conn.errors == []


async def test_unacked_events_are_parked_after_max_retries_of_timeouts(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    await create_group(
        client, chronicle, "g", settings={"ack_timeout": SHORT_ACK_TIMEOUT, "max_retries": 2}
    )
    await publish(client, chronicle, "s", "ignored")
    sub = await conn.connect_subscription("g", chronicle)
    assert [i.retry_count for i in await take(sub, 3)] == [0, 1, 2]
    await wait_for_group(client, chronicle, "g", parked=1, in_flight=0)
    parked = (await client.get(f"/chronicles/{chronicle}/subscriptions/g/parked")).json()
    assert "ack timeout" in parked["items"][0]["reason"]
    await sub.stop()


async def test_in_flight_limit_holds_events_back_until_acked(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    await create_group(client, chronicle, "g", settings={"max_in_flight": 3})
    await publish(client, chronicle, "s", *range(5))
    sub = await conn.connect_subscription("g", chronicle, max_in_flight=2)  # asks for fewer
    first = await take(sub, 2)
    await wait_for_group(client, chronicle, "g", in_flight=2, pending=3)
    await sub.ack(*first)
    assert [i.event["data"] for i in await take(sub, 2)] == [2, 3]
    await sub.stop()


async def test_round_robin_shares_events_between_two_consumers(
    server: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    await create_group(client, chronicle, "g", start="end", settings={"max_in_flight": 20})
    async with (
        Connection(ws_url(server), api_key=ADMIN_KEY) as one,
        Connection(ws_url(server), api_key=ADMIN_KEY) as two,
    ):
        a = await one.connect_subscription("g", chronicle)
        b = await two.connect_subscription("g", chronicle)
        await publish(client, chronicle, "s", *range(6))  # one commit: one dispatch
        got_a, got_b = await asyncio.gather(take(a, 3), take(b, 3))
        assert [i.event["data"] for i in got_a] == [0, 2, 4]
        assert [i.event["data"] for i in got_b] == [1, 3, 5]
        await asyncio.gather(a.ack(*got_a), b.ack(*got_b))
        await wait_for_group(client, chronicle, "g", in_flight=0, pending=0, consumers=2)
        await a.stop()
        await b.stop()
    await wait_for_group(client, chronicle, "g", consumers=0)


async def test_dispatch_to_single_fills_the_first_consumer_then_the_next(
    server: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    await create_group(
        client,
        chronicle,
        "g",
        start="end",
        settings={"strategy": "dispatch_to_single", "max_in_flight": 2},
    )
    async with (
        Connection(ws_url(server), api_key=ADMIN_KEY) as one,
        Connection(ws_url(server), api_key=ADMIN_KEY) as two,
    ):
        a = await one.connect_subscription("g", chronicle)
        b = await two.connect_subscription("g", chronicle)
        await publish(client, chronicle, "s", *range(3))
        assert [i.event["data"] for i in await take(a, 2)] == [0, 1]
        assert [i.event["data"] for i in await take(b, 1)] == [2]
        await a.stop()
        await b.stop()


async def test_a_consumer_that_disconnects_has_its_events_redelivered_to_another(
    server: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    # A long ack timeout: only the departure can hand the events over in time.
    await create_group(
        client,
        chronicle,
        "g",
        start="end",
        settings={"strategy": "dispatch_to_single", "ack_timeout": 3600},
    )
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as stays:
        async with Connection(ws_url(server), api_key=ADMIN_KEY) as leaves:
            gone = await leaves.connect_subscription("g", chronicle)
            kept = await stays.connect_subscription("g", chronicle)
            await publish(client, chronicle, "s", "x", "y")
            assert [i.event["data"] for i in await take(gone, 2)] == ["x", "y"]
        # The connection closed without a stop.
        again = await take(kept, 2)
        assert [(i.event["data"], i.retry_count) for i in again] == [("x", 1), ("y", 1)]
        await kept.ack(*again)
        await wait_for_group(client, chronicle, "g", in_flight=0, consumers=1)
        await kept.stop()


async def test_bad_answers_get_error_frames_and_the_call_stays_usable(
    server: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    await create_group(client, chronicle, "g", start="end", settings={"ack_timeout": 3600})
    async with (
        Connection(ws_url(server), api_key=ADMIN_KEY) as one,
        Connection(ws_url(server), api_key=ADMIN_KEY) as two,
    ):
        a = await one.connect_subscription("g", chronicle)
        b = await two.connect_subscription("g", chronicle)
        await publish(client, chronicle, "s", "for-a", "for-b")
        [mine] = await take(a, 1)
        [theirs] = await take(b, 1)

        bad: list[object] = [
            {"ack": [theirs.event_id]},  # in flight, but to the other consumer
            {"ack": ["00000000-0000-0000-0000-000000000000"]},
            {"ack": [mine.event_id, theirs.event_id]},  # all or nothing
            {"ack": ["not-a-uuid"]},
            {"ack": []},
            {"nack": [mine.event_id], "action": "explode"},
            {"ack": [mine.event_id], "stop": True},
            {"surprise": 1},
            "ack",
        ]
        for answer in bad:
            await a.call.send(answer)
        await wait_for(
            lambda: _at_least(one.errors, len(bad)), what="an error frame per bad answer"
        )
        codes = [e.code for e in one.errors]
        assert codes[:3] == ["event_not_in_flight"] * 3
        assert set(codes[3:]) == {"invalid_input"}
        assert all(e.details["frame"] == "send" for e in one.errors)
        # Nothing changed: both are still in flight, and the call still works.
        await wait_for_group(client, chronicle, "g", in_flight=2)
        await a.ack(mine)
        await wait_for_group(client, chronicle, "g", in_flight=1)
        assert len(one.errors) == len(bad)
        await a.stop()
        await b.stop()


async def _at_least(items: list[CallError], count: int) -> bool:
    return len(items) >= count


async def test_unknown_group_or_bad_params_fail_the_call(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    with pytest.raises(CallError) as unknown:
        await conn.connect_subscription("nobody", chronicle)
    assert unknown.value.code == "subscription_not_found"
    with pytest.raises(CallError) as missing:
        await conn.connect_subscription("g", "no-such-chronicle")
    assert missing.value.code == "chronicle_not_found"
    with pytest.raises(CallError) as everything:
        await conn.connect_subscription("nobody")
    assert everything.value.code == "subscription_not_found"
    for params in (
        {},
        {"group": "bad name"},
        {"group": "g", "max_in_flight": 0},
        {"group": "g", "max_in_flight": True},
        {"group": "g", "surprise": 1},
    ):
        with pytest.raises(CallError) as invalid:
            await conn.call("persistent_subscribe", params)
        assert invalid.value.code == "validation_error"
    assert await conn.ping() < TIMEOUT


async def test_deleting_the_group_ends_its_consumers(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    await create_group(client, chronicle, "g")
    sub = await conn.connect_subscription("g", chronicle)
    assert (await client.delete(f"/chronicles/{chronicle}/subscriptions/g")).status_code == 204
    with pytest.raises(CallError) as ended:
        async with asyncio.timeout(TIMEOUT):
            await sub.call.result()
    assert ended.value.code == "subscription_not_found"


async def test_a_group_of_everything_filters_by_type(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    name = f"all-{chronicle}"
    created = await client.put(
        f"/subscriptions/{name}", json={"start": "end", "types": [f"{chronicle}/?"]}
    )
    assert created.status_code == 201, created.text
    sub = await conn.connect_subscription(name)
    await publish(client, chronicle, "s", 1, type="other")
    await publish(client, chronicle, "s", 2, type=f"{chronicle}/x")
    [item] = await take(sub, 1)
    assert item.event["data"] == 2
    await sub.ack(item)
    await sub.stop()
    assert (await client.delete(f"/subscriptions/{name}")).status_code == 204


async def test_groups_skip_what_retention_and_deletes_hide_in_every_scope(
    conn: Connection, client: httpx.AsyncClient, chronicle: str
) -> None:
    # A type of this test's own, so the server-wide group skips other tests' events.
    mine = f"{chronicle}/t"
    # A group on a stream that does not exist yet finds it once it does.
    await create_group(client, chronicle, "later", stream="later")
    await publish(client, chronicle, "a", 0, 1, 2, type=mine)
    truncated = await client.put(
        f"/chronicles/{chronicle}/streams/a/metadata", json={"truncate_before": 2}
    )
    assert truncated.status_code == 200, truncated.text
    await publish(client, chronicle, "b", 3, type=mine)
    assert (await client.delete(f"/chronicles/{chronicle}/streams/b")).status_code == 204
    await publish(client, chronicle, "c", 4, type=mine)
    await create_group(client, chronicle, "whole")
    await create_group(client, chronicle, "one", stream="a")
    everything = f"all-{chronicle}"
    created = await client.put(
        f"/subscriptions/{everything}", json={"start": "start", "types": [mine]}
    )
    assert created.status_code == 201, created.text

    async def data(group: str, count: int, chronicle: str | None = chronicle) -> list[object]:
        sub = await conn.connect_subscription(group, chronicle)
        items = await take(sub, count)
        await sub.ack(*items)
        await sub.stop()
        return [i.event["data"] for i in items]

    assert await data("whole", 2) == [2, 4]
    assert await data("one", 1) == [2]
    assert await data(everything, 2, None) == [2, 4]
    assert (await client.delete(f"/subscriptions/{everything}")).status_code == 204

    await publish(client, chronicle, "later", 5, type=mine)
    await publish(client, chronicle, "a", 6, type=mine)
    assert await data("later", 1) == [5]
    assert await data("one", 1) == [6]
    assert conn.errors == []
