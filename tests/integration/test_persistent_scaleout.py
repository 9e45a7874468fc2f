"""Persistent subscriptions across server restarts and server processes on one database."""

import asyncio

import httpx

from app.client import Connection
from app.config import Settings
from tests.integration.hub_servers import serve, uvicorn_subprocess, ws_url
from tests.integration.persistent_support import create_group, publish, take, wait_for_group
from tests.support import ADMIN_KEY, TIMEOUT


async def test_a_restart_keeps_the_checkpoint_and_redelivers_only_what_was_not_acked(
    settings: Settings, client: httpx.AsyncClient, chronicle: str
) -> None:
    # An ack timeout no test waits for: what comes again comes because of the restart.
    await create_group(client, chronicle, "g", settings={"ack_timeout": 3600})
    written = await publish(client, chronicle, "s", *range(4))

    async with serve(settings) as (base, _):
        conn = Connection(ws_url(base), api_key=ADMIN_KEY)
        await conn.connect()
        sub = await conn.connect_subscription("g", chronicle)
        got = await take(sub, 4)
        await sub.ack(got[0], got[1])
        before = await wait_for_group(
            client, chronicle, "g", checkpoint=written[2]["position"], in_flight=2
        )
        # The server stops in the middle of consuming, with the consumer still connected.
    async with asyncio.timeout(TIMEOUT):
        ended = await sub.call.result()
    assert ended["reason"] == "shutdown" and ended["acked"] == 2
    await conn.close()
    after = await wait_for_group(client, chronicle, "g", consumers=0, in_flight=0, pending=2)
    assert after["checkpoint"] == before["checkpoint"]

    async with serve(settings) as (base, _), Connection(ws_url(base), api_key=ADMIN_KEY) as conn:
        sub = await conn.connect_subscription("g", chronicle)
        again = await take(sub, 2)
        assert [(i.event["data"], i.retry_count) for i in again] == [(2, 1), (3, 1)]
        # The next delivery is a new event: 0 and 1, acked before the restart, never return.
        [marker] = await publish(client, chronicle, "s", "marker")
        [after_marker] = await take(sub, 1)
        assert after_marker.event["data"] == "marker"
        await sub.ack(*again, after_marker)
        await wait_for_group(
            client, chronicle, "g", checkpoint=marker["position"] + 1, in_flight=0, pending=0
        )
        await sub.stop()


async def test_two_server_processes_share_a_group_and_a_killed_one_hands_its_events_over(
    server: str, database_url: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    await create_group(
        client, chronicle, "g", start="end", settings={"ack_timeout": 3600, "max_in_flight": 50}
    )
    lease = str(TIMEOUT / 10)
    async with uvicorn_subprocess(database_url, persistent_consumer_lease=lease) as (
        other,
        process,
    ):
        async with (
            Connection(ws_url(server), api_key=ADMIN_KEY) as here,
            Connection(ws_url(other), api_key=ADMIN_KEY) as there,
        ):
            a = await here.connect_subscription("g", chronicle)
            b = await there.connect_subscription("g", chronicle)
            await publish(client, chronicle, "s", *range(10))
            got_a, got_b = await asyncio.gather(take(a, 5), take(b, 5))
            data_a = {i.event["data"] for i in got_a}
            data_b = {i.event["data"] for i in got_b}
            # Round robin across processes: each event to exactly one consumer.
            assert data_a | data_b == set(range(10)) and not data_a & data_b
            await a.ack(*got_a)
            await wait_for_group(client, chronicle, "g", in_flight=5, consumers=2)

            process.kill()  # no goodbye: only b's lapsed lease can free its events
            again = await take(a, 5)
            assert {i.event["data"] for i in again} == data_b
            assert {i.retry_count for i in again} == {1}
            await a.ack(*again)
            await wait_for_group(client, chronicle, "g", in_flight=0, pending=0, consumers=1)
            await a.stop()
