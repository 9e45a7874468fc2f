"""Consuming a persistent subscription (consumer group) over the hub, photonpump-style."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.client.connection import Call, Connection


@dataclass(frozen=True, slots=True)
class GroupEvent:
    """One event handed to this consumer; ``retry_count`` 0 on its first delivery."""

    event: dict[str, Any]
    retry_count: int

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"])


class PersistentSubscription:
    """``async for item in subscription: ...; await subscription.ack(item)``.

    ``ack`` and ``nack`` return once sent; the server answers an id that is not in flight
    to this consumer with an error frame, collected in ``Connection.errors``."""

    def __init__(self, call: "Call", subscribed: dict[str, Any]) -> None:
        self.call = call
        self.consumer: str = subscribed["consumer"]

    async def __aiter__(self) -> AsyncIterator[GroupEvent]:
        async for data in self.call:
            if data.get("kind") == "event":
                yield GroupEvent(data["event"], data["retry_count"])

    async def ack(self, *items: GroupEvent | str) -> None:
        await self.call.send({"ack": _ids(items)})

    async def nack(
        self, *items: GroupEvent | str, action: str = "retry", reason: str | None = None
    ) -> None:
        answer: dict[str, Any] = {"nack": _ids(items), "action": action}
        if reason is not None:
            answer["reason"] = reason
        await self.call.send(answer)

    async def stop(self) -> Any:
        """Leave the group (unacked events go to the others); returns the end result."""
        if not self.call.done:
            await self.call.send({"stop": True})
        return await self.call.result()


def _ids(items: tuple[GroupEvent | str, ...]) -> list[str]:
    return [i.event_id if isinstance(i, GroupEvent) else str(i) for i in items]


async def connect_subscription(
    connection: "Connection",
    group: str,
    chronicle: str | None = None,
    max_in_flight: int | None = None,
) -> PersistentSubscription:
    """Join ``group`` (of ``chronicle``; None: a group of everything) once the server
    confirmed it; raises CallError (e.g. subscription_not_found) otherwise."""
    params: dict[str, Any] = {"group": group}
    if chronicle is not None:
        params["chronicle"] = chronicle
    if max_in_flight is not None:
        params["max_in_flight"] = max_in_flight
    call = await connection.start("persistent_subscribe", params)
    async for first in call:
        return PersistentSubscription(call, first)
    raise AssertionError("the call ended without a subscribed frame")  # result() raised first
