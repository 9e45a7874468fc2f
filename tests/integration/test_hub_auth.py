"""Authentication and limits on the WebSocket hub: the handshake header or a first auth frame,
timeouts for silent sockets, per-connection and per-principal caps, filtered subscriptions."""

import asyncio
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from app.client import Connection
from app.client.connection import CallError
from app.config import Settings
from app.domain.credentials import new_key
from tests.integration.hub_servers import serve, ws_url
from tests.integration.principals import grant, make_principal
from tests.integration.test_hub_protocol import closed_with, receive, send, still_usable
from tests.support import ADMIN_KEY, fresh_name, wait_for


async def test_a_browser_authenticates_with_a_first_frame(server: str) -> None:
    async with connect(ws_url(server)) as ws:
        await send(ws, {"type": "call", "id": 1, "method": "ping", "params": {}})
        early = await receive(ws, "error")
        assert early["id"] == 1 and early["error"]["code"] == "unauthenticated"
        assert "auth" in early["error"]["message"]
        await still_usable(ws)  # ping and pong work before authentication

        await send(ws, {"type": "auth", "id": "a", "key": ADMIN_KEY})
        assert await receive(ws, "ack") == {
            "type": "ack",
            "id": "a",
            "of": "auth",
            "principal": "admin",
        }
        await send(ws, {"type": "call", "id": 2, "method": "ping", "params": {}})
        assert (await receive(ws, "end"))["result"]["pong"] is True

        # One identity per connection.
        await send(ws, {"type": "auth", "key": ADMIN_KEY})
        again = await receive(ws, "error")
        assert again["error"]["code"] == "invalid_frame"
        await still_usable(ws)


async def test_wrong_credentials_get_an_error_then_close_4401(
    server: str, client: httpx.AsyncClient
) -> None:
    ann = await make_principal(client, "ann", password="correct horse battery")
    for frame in (
        {"type": "auth", "key": new_key().token},
        {"type": "auth", "key": "not-a-key"},
        {"type": "auth", "username": ann.name, "password": "wrong horse battery"},
    ):
        async with connect(ws_url(server)) as ws:
            await send(ws, frame)
            error = await receive(ws, "error")
            assert error["error"]["code"] == "unauthenticated"
            code, _ = await closed_with(ws)
            assert code == 4401
    async with connect(ws_url(server)) as ws:
        await send(ws, {"type": "auth", "username": ann.name})
        assert (await receive(ws, "error"))["error"]["code"] == "invalid_frame"
        await send(ws, {"type": "auth", "username": ann.name, "password": "correct horse battery"})
        assert (await receive(ws, "ack"))["principal"] == ann.name


async def test_a_wrong_handshake_header_closes_4401(server: str) -> None:
    forged = {"Authorization": f"Bearer {new_key().token}"}
    async with connect(ws_url(server), additional_headers=forged) as ws:
        code, reason = await closed_with(ws)
    assert code == 4401 and "not valid" in (reason or "")


async def test_photonpump_style_username_and_password(
    server: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    ann = await make_principal(client, "ann", password="correct horse battery")
    await grant(client, chronicle, ann.name, "write")
    async with Connection(
        ws_url(server), username=ann.name, password="correct horse battery"
    ) as conn:
        result = await conn.publish_event(chronicle, "s", "t", {"n": 1})
        assert result["stream_version"] == 0
        with pytest.raises(CallError) as refused:
            await conn.call("delete_stream", {"chronicle": chronicle, "stream": "s"})
        assert refused.value.code == "forbidden"


async def test_a_silent_unauthenticated_socket_is_closed(settings: Settings) -> None:
    quick = settings.model_copy(update={"ws_auth_timeout": 0.3})
    async with serve(quick) as (base, _), connect(ws_url(base)) as ws:
        code, reason = await closed_with(ws)
    assert code == 4401 and "no credentials within 0.3s" in (reason or "")


async def test_connections_per_principal_are_capped(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    capped = settings.model_copy(update={"ws_max_connections_per_principal": 2})
    bob = await make_principal(client, "bob")
    async with serve(capped) as (base, _):
        url = ws_url(base)
        async with (
            Connection(url, api_key=bob.key) as first,
            Connection(url, api_key=bob.key) as second,
        ):
            # Admitted once a call is answered (connections authenticate concurrently).
            await first.call("ping")
            await second.call("ping")
            async with connect(url, additional_headers=bob.headers) as third:
                code, reason = await closed_with(third)
            assert code == 4429 and "CHRONICLE_WS_MAX_CONNECTIONS_PER_PRINCIPAL" in (reason or "")
            # Another principal is not affected; a freed slot can be taken again.
            async with Connection(url, api_key=ADMIN_KEY) as admin:
                assert await admin.ping() >= 0
            await first.close()

            async def admitted() -> bool:
                async with connect(url, additional_headers=bob.headers) as ws:
                    await send(ws, {"type": "call", "id": 1, "method": "ping", "params": {}})
                    frame: dict[str, Any] = await receive(ws)
                    return frame["type"] == "end"

            await wait_for(admitted, what="a slot freed by a closed connection")


async def test_calls_and_subscriptions_per_connection_are_capped(
    settings: Settings, chronicle: str
) -> None:
    limited = settings.model_copy(update={"ws_max_calls": 3, "ws_max_subscriptions": 1})
    async with serve(limited) as (base, _), Connection(ws_url(base), api_key=ADMIN_KEY) as conn:
        params = {"chronicle": chronicle, "start": "end"}
        first = await conn.subscribe_to(chronicle, None, start_from="end")
        with pytest.raises(CallError) as refused:
            await conn.call("subscribe", params)
        assert refused.value.code == "too_many"
        assert "CHRONICLE_WS_MAX_SUBSCRIPTIONS" in str(refused.value)
        # Two more calls fit (3 in all); a fourth does not, and the connection stays usable.
        appends = [await conn.start("append", {"chronicle": chronicle, "stream": "s"})]
        appends.append(await conn.start("append", {"chronicle": chronicle, "stream": "t"}))
        with pytest.raises(CallError) as refused:
            await conn.call("ping")
        assert refused.value.code == "too_many"
        for append in appends:
            await append.send({"type": "t"})
            await append.end()
            await append.result()
        await first.stop()
        assert (await conn.call("ping"))["pong"] is True


async def test_a_subscription_to_everything_carries_only_readable_chronicles(
    server: str, client: httpx.AsyncClient
) -> None:
    reader = await make_principal(client, "rd")
    seen, hidden = fresh_name("seen"), fresh_name("hidden")
    for name in (seen, hidden):
        assert (await client.post("/chronicles", json={"name": name})).status_code == 201
    await grant(client, seen, reader.name, "read")
    start = (await client.get("/events?from=0&limit=1")).json()["next"]

    async def publish(name: str, n: int) -> None:
        answer = await client.post(
            f"/chronicles/{name}/streams/s/events", json={"events": [{"type": "t", "data": n}]}
        )
        assert answer.status_code == 201

    await publish(seen, 1)
    await publish(hidden, 2)
    async with Connection(ws_url(server), api_key=reader.key) as conn:
        subscription = await conn.subscribe_to(None, None, start_from=start)
        await publish(hidden, 3)
        await publish(seen, 4)
        received = []
        async with asyncio.timeout(10):
            async for event in subscription:
                received.append((event["chronicle"], event["data"]))
                if event["data"] == 4:
                    break
        await subscription.stop()
    assert received == [(seen, 1), (seen, 4)]
