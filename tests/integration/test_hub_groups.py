"""Managing persistent subscriptions over the WebSocket, as over REST: create, get, list,
update, park and replay, delete; groups of everything are for server admins only."""

import httpx
import pytest

from app.client import Connection
from app.client.connection import CallError
from tests.integration.hub_servers import ws_url
from tests.integration.persistent_support import publish, take, wait_for_group
from tests.integration.principals import grant, make_principal
from tests.support import ADMIN_KEY, fresh_name


async def test_a_group_is_managed_end_to_end_over_the_hub(
    server: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    ref = {"chronicle": chronicle, "group": "g"}
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as conn:
        created = await conn.call(
            "create_subscription",
            {**ref, "stream": "s", "start": "start", "settings": {"max_retries": 3}},
        )
        assert (created["name"], created["stream"], created["settings"]["max_retries"]) == (
            "g",
            "s",
            3,
        )
        with pytest.raises(CallError) as taken:
            await conn.call("create_subscription", ref)
        assert taken.value.code == "subscription_exists"
        # REST sees what the hub made, and the other way round.
        assert (await client.get(f"/chronicles/{chronicle}/subscriptions/g")).status_code == 200
        listed = await conn.call("list_subscriptions", {"chronicle": chronicle})
        assert [g["name"] for g in listed["items"]] == ["g"]

        updated = await conn.call("update_subscription", {**ref, "ack_timeout": 60.0})
        assert updated["settings"]["ack_timeout"] == 60.0
        assert updated["settings"]["max_retries"] == 3

        await publish(client, chronicle, "s", {"n": 1}, {"n": 2})
        consumer = await conn.connect_subscription("g", chronicle)
        first, second = await take(consumer, 2)
        await consumer.nack(first, action="park", reason="bad payload")
        await consumer.ack(second)
        await wait_for_group(client, chronicle, "g", parked=1, in_flight=0)
        parked = await conn.call("list_parked", ref)
        assert [(p["event"]["data"], p["reason"]) for p in parked["items"]] == [
            ({"n": 1}, "bad payload")
        ]
        assert (await conn.call("replay_parked", ref))["replayed"] == 1
        (again,) = await take(consumer, 1)
        assert again.event["data"] == {"n": 1}
        await consumer.ack(again)
        await consumer.stop()

        assert await conn.call("delete_subscription", ref) == {"deleted": True}
        with pytest.raises(CallError) as gone:
            await conn.call("get_subscription", ref)
        assert gone.value.code == "subscription_not_found"


async def test_groups_of_everything_are_for_server_admins(
    server: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    owner = await make_principal(client, "own")
    await grant(client, chronicle, owner.name, "admin")
    name = fresh_name("all")
    async with Connection(ws_url(server), api_key=owner.key) as conn:
        assert (await conn.call("create_subscription", {"chronicle": chronicle, "group": name}))[
            "chronicle"
        ] == chronicle
        for call, params in (
            ("create_subscription", {"group": name}),
            ("list_subscriptions", {}),
            ("get_subscription", {"group": name}),
            ("persistent_subscribe", {"group": name}),
        ):
            with pytest.raises(CallError) as refused:
                await conn.call(call, params)
            assert refused.value.code == "forbidden", call
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as admin:
        made = await admin.call("create_subscription", {"group": name, "types": ["x/*"]})
        assert made["chronicle"] is None
        assert await admin.call("delete_subscription", {"group": name}) == {"deleted": True}


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("create_subscription", {"group": "g", "stream": "s"}, "validation_error"),
        ("create_subscription", {"group": "g", "types": ["a/*/b"]}, "invalid_pattern"),
        (
            "create_subscription",
            {"group": "g", "settings": {"max_retries": -1}},
            "validation_error",
        ),
        ("update_subscription", {"group": "nope", "max_in_flight": 0}, "validation_error"),
        ("get_subscription", {"group": "nope"}, "subscription_not_found"),
        ("list_parked", {"group": "g", "limit": 0}, "validation_error"),
        ("replay_parked", {"group": "nope"}, "subscription_not_found"),
    ],
)
async def test_bad_group_calls_are_refused_clearly(
    server: str, chronicle: str, method: str, params: dict[str, object], code: str
) -> None:
    async with Connection(ws_url(server), api_key=ADMIN_KEY) as conn:
        scoped = {"chronicle": chronicle, **params} if "stream" not in params else params
        with pytest.raises(CallError) as refused:
            await conn.call(method, scoped)
        assert refused.value.code == code
        assert (await conn.call("list_subscriptions", {"chronicle": chronicle}))["items"] == []
