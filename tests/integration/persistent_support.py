"""Helpers for persistent subscription tests: groups over REST, events, taking deliveries."""

import asyncio
from typing import Any

import httpx

from app.client.persistent import GroupEvent, PersistentSubscription
from tests.support import TIMEOUT, wait_for

# Ack timeouts short enough to wait for, long enough for a loaded box to ack in time.
SHORT_ACK_TIMEOUT = 0.5 * TIMEOUT / 10


async def create_group(
    client: httpx.AsyncClient, chronicle: str, group: str, **body: Any
) -> dict[str, Any]:
    body.setdefault("start", "start")
    response = await client.put(f"/chronicles/{chronicle}/subscriptions/{group}", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def group_info(client: httpx.AsyncClient, chronicle: str, group: str) -> dict[str, Any]:
    response = await client.get(f"/chronicles/{chronicle}/subscriptions/{group}")
    assert response.status_code == 200, response.text
    info: dict[str, Any] = response.json()
    return info


async def publish(
    client: httpx.AsyncClient, chronicle: str, stream: str, *data: Any, type: str = "t"
) -> list[dict[str, Any]]:
    """Publish one event per ``data`` in one batch; returns the written events."""
    response = await client.post(
        f"/chronicles/{chronicle}/streams/{stream}/events",
        json={"events": [{"type": type, "data": d} for d in data]},
    )
    assert response.status_code == 201, response.text
    written: list[dict[str, Any]] = response.json()["events"]
    return written


async def take(subscription: PersistentSubscription, count: int) -> list[GroupEvent]:
    """The next ``count`` deliveries, failing after TIMEOUT."""
    got: list[GroupEvent] = []
    async with asyncio.timeout(TIMEOUT):
        async for item in subscription:
            got.append(item)
            if len(got) == count:
                break
    return got


async def wait_for_group(
    client: httpx.AsyncClient, chronicle: str, group: str, **expected: Any
) -> dict[str, Any]:
    """Until the group's info shows every ``expected`` field value; returns the info."""
    info: dict[str, Any] = {}

    async def shown() -> bool:
        nonlocal info
        info = await group_info(client, chronicle, group)
        return all(info[k] == v for k, v in expected.items())

    await wait_for(shown, what=f"group {group} to show {expected}")
    return info
