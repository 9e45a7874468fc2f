"""Deleting a chronicle while it is subscribed to, consumed and published to, all at once."""

import asyncio

import asyncpg
import httpx
import pytest

from app.client import CallError, Connection
from tests.integration.hub_servers import ws_url
from tests.integration.persistent_support import create_group
from tests.support import ADMIN_KEY, TIMEOUT, fresh_name, wait_for


async def test_deleting_a_chronicle_under_live_subscriptions_and_concurrent_publishes(
    server: str, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    name = fresh_name("doomed")
    assert (await client.post("/chronicles", json={"name": name})).status_code == 201
    await create_group(client, name, "g")
    cid = await pool.fetchval("SELECT id FROM chronicles WHERE name = $1", name)
    answers: list[httpx.Response] = []

    async def write(stream: str) -> None:
        # Until the chronicle is gone; chronicles are never created by a publish.
        while True:
            response = await client.post(
                f"/chronicles/{name}/streams/{stream}/events", json={"events": [{"type": "t"}]}
            )
            answers.append(response)
            if response.status_code != 201:
                return

    async with Connection(ws_url(server), api_key=ADMIN_KEY) as conn:
        whole = await conn.subscribe_to(name, start_from="start")
        one = await conn.subscribe_to(name, "s0", start_from="start")
        consumer = await conn.connect_subscription("g", name)
        writers = [asyncio.create_task(write(f"s{i}")) for i in range(4)]

        async def published_some() -> bool:
            return sum(r.status_code == 201 for r in answers) >= 20

        await wait_for(published_some, what="some publishes before the delete")
        deleted = await client.delete(f"/chronicles/{name}")
        assert deleted.status_code == 204, deleted.text
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(*writers)

        # Every publish either succeeded before the delete or was refused clearly after it.
        assert {r.status_code for r in answers} == {201, 404}
        assert {r.json()["code"] for r in answers if r.status_code == 404} == {
            "chronicle_not_found"
        }
        # Each live call ends with an error that says why; none hangs.
        for call, codes in (
            (whole.call, {"chronicle_not_found"}),
            (one.call, {"chronicle_not_found", "stream_not_found"}),
            (consumer.call, {"subscription_not_found"}),
        ):
            with pytest.raises(CallError) as ended:
                async with asyncio.timeout(TIMEOUT):
                    await call.result()
            assert ended.value.code in codes
        assert await conn.ping() < TIMEOUT  # the connection is still fine

    for table in ("events", "streams", "latest_events", "subscription_groups", "grants"):
        left = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE chronicle_id = $1", cid)
        assert left == 0, table
    assert (await client.get(f"/chronicles/{name}")).status_code == 404


async def test_a_live_stream_subscription_outlives_a_soft_delete_but_not_a_hard_one(
    server: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    """Live subscribers are fed by the shared reader, which a delete does not pass through:
    the delete itself tells them to look again."""
    stream = f"/chronicles/{chronicle}/streams/s"

    async def publish(n: int) -> None:
        answer = await client.post(f"{stream}/events", json={"events": [{"type": "t", "data": n}]})
        assert answer.status_code == 201, answer.text

    await publish(0)
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as conn:
        subscription = await conn.subscribe_to(chronicle, "s", start_from="start")
        received = []
        async with asyncio.timeout(TIMEOUT):
            async for event in subscription:
                received.append(event["data"])
                break
        # Soft: the stream reads as gone until a publish recreates it, numbers continuing.
        assert (await client.delete(stream)).status_code == 204
        await publish(1)
        async with asyncio.timeout(TIMEOUT):
            async for event in subscription:
                received.append((event["data"], event["version"]))
                break
        assert received == [0, (1, 1)]
        # Hard: a tombstone ends the subscription, saying so.
        assert (await client.delete(f"{stream}?mode=hard")).status_code == 204
        with pytest.raises(CallError) as ended:
            async with asyncio.timeout(TIMEOUT):
                await subscription.call.result()
        assert ended.value.code == "stream_deleted"
