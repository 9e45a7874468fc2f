"""The bidirectional ``persistent_subscribe`` method: one consumer of a consumer group.

The call joins the group, then three tasks run until the client stops, the server shuts
down or the group is deleted: one dispatches and sends what the group assigned to this
consumer, one applies the client's ack and nack sends, one renews the consumer's lease.
The group's state is in PostgreSQL (storage/group_delivery.py), so consumers of one group
may be connected to different server processes. Leaving hands this consumer's unacked
events to the others.
"""

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.domain.access import READ, SERVER_ADMIN, authorize
from app.domain.group_delivery import MAX_IN_FLIGHT, EventNotInFlightError, NackAction
from app.domain.names import CHRONICLE_NAME_PATTERN
from app.errors import InvalidInputError
from app.hub.calls import END_OF_INPUT, CallContext, method
from app.hub.methods.catalog import Params
from app.schemas.cloudevents import FORMAT_DESCRIPTION, EventFormatName, event_body
from app.storage import group_delivery, groups

MAX_IDS_PER_ANSWER = 1000


class PersistentSubscribeParams(Params):
    """Join the group ``group`` of ``chronicle`` (no chronicle: a group of everything)."""

    group: str = Field(pattern=CHRONICLE_NAME_PATTERN)
    chronicle: str | None = Field(default=None, pattern=CHRONICLE_NAME_PATTERN)
    max_in_flight: int | None = Field(
        default=None,
        strict=True,
        ge=1,
        le=MAX_IN_FLIGHT,
        description="Unacked events this consumer holds at most; the group's limit caps it",
    )
    format: EventFormatName = Field(default="json", description=FORMAT_DESCRIPTION)


class GroupAnswer(BaseModel):
    """A ``send`` on the call: {"ack": [ids]}, {"nack": [ids], "action", "reason"?} or
    {"stop": true}."""

    model_config = ConfigDict(extra="forbid")

    ack: list[UUID] | None = Field(default=None, min_length=1, max_length=MAX_IDS_PER_ANSWER)
    nack: list[UUID] | None = Field(default=None, min_length=1, max_length=MAX_IDS_PER_ANSWER)
    action: NackAction = Field(default=NackAction.RETRY, description="For nack")
    reason: str | None = Field(default=None, max_length=1000, description="For nack")
    stop: Literal[True] | None = None

    @model_validator(mode="after")
    def _one(self) -> "GroupAnswer":
        given = [k for k in ("ack", "nack", "stop") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("send exactly one of ack, nack or stop")
        return self


@dataclass
class _Consumer:
    ctx: CallContext
    params: PersistentSubscribeParams
    group: int
    id: UUID
    woken: asyncio.Event
    delivered: int = 0
    acked: int = 0
    nacked: int = 0

    async def deliver(self) -> None:
        ctx, pool = self.ctx, self.ctx.pool
        poll = ctx.settings.ws_subscription_poll_interval
        while True:
            # Cleared before dispatching: a change after this point sets it again.
            self.woken.clear()
            wait = await group_delivery.dispatch(
                pool, self.group, ctx.settings.persistent_buffer_size
            )
            for delivery in await group_delivery.take(pool, self.group, self.id):
                body = event_body(delivery.event, self.params.format)
                await ctx.emit(
                    {"kind": "event", "event": body, "retry_count": delivery.retry_count}
                )
                self.delivered += 1
            # Wake at the group's next deadline too: its consumers take turns expiring it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll if wait is None else min(wait, poll)):
                    await self.woken.wait()

    async def answer(self) -> None:
        """Returns on stop (or the client's end)."""
        while True:
            data = await self.ctx.receive()
            if data is END_OF_INPUT:
                return
            try:
                answer = GroupAnswer.model_validate(data)
            except ValidationError as error:
                self.ctx.reject(_invalid_answer(error))
                continue
            if answer.stop:
                return
            try:
                if answer.ack is not None:
                    ids = list(dict.fromkeys(answer.ack))
                    await group_delivery.ack(self.ctx.pool, self.group, self.id, ids)
                    self.acked += len(ids)
                else:
                    assert answer.nack is not None
                    ids = list(dict.fromkeys(answer.nack))
                    await group_delivery.nack(
                        self.ctx.pool, self.group, self.id, ids, answer.action, answer.reason or ""
                    )
                    self.nacked += len(ids)
            except EventNotInFlightError as error:
                self.ctx.reject(error)
                continue
            self.woken.set()  # room for more, or a retry to hand out

    async def renew(self) -> None:
        lease = self.ctx.settings.persistent_consumer_lease
        while True:
            await asyncio.sleep(lease / 3)  # the schedule, not a condition
            await group_delivery.renew(
                self.ctx.pool, self.group, self.id, self.params.max_in_flight, lease
            )


def _invalid_answer(error: ValidationError) -> InvalidInputError:
    errors = error.errors(include_url=False, include_context=False, include_input=False)
    summary = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in errors[:5]
    )
    return InvalidInputError(
        'invalid send: use {"ack": [ids]}, {"nack": [ids], "action": "retry"|"park"|"skip"} '
        f'or {{"stop": true}}: {summary}',
        errors=errors,
    )


@method(
    "persistent_subscribe",
    PersistentSubscribeParams,
    kind="bidirectional",
    accepts_sends=True,
    need=READ,
)
async def persistent_subscribe(
    ctx: CallContext, params: PersistentSubscribeParams
) -> dict[str, Any]:
    """Consume a persistent subscription (consumer group). Data frames: {"kind":
    "subscribed", "group", "chronicle", "consumer"}, then {"kind": "event", "event",
    "retry_count"} for each event handed to this consumer. Send {"ack": [event_ids]},
    {"nack": [event_ids], "action": "retry"|"park"|"skip", "reason"?} or {"stop": true};
    an id not in flight to this consumer gets an error frame (event_not_in_flight) and
    the call stays open. Unacked events are redelivered after the group's ack timeout,
    or to the others when this consumer leaves. Ends with the reason (stopped, shutdown)
    and counts; a deleted group ends it with subscription_not_found."""
    if params.chronicle is None:  # a group of everything hands out every chronicle's events
        authorize(ctx.caller, SERVER_ADMIN, None)
    pool, lease = ctx.pool, ctx.settings.persistent_consumer_lease
    gid = await groups.group_id(pool, params.chronicle, params.group)
    consumer_id = uuid4()
    await group_delivery.join(pool, gid, consumer_id, params.max_in_flight, lease)
    tasks: dict[str, asyncio.Task[None]] = {}
    try:
        await ctx.emit(
            {
                "kind": "subscribed",
                "group": params.group,
                "chronicle": params.chronicle,
                "consumer": str(consumer_id),
            }
        )
        with ctx.listener.group_waker(gid) as woken:
            consumer = _Consumer(ctx, params, gid, consumer_id, woken)
            tasks = {
                "deliver": asyncio.create_task(consumer.deliver()),
                "renew": asyncio.create_task(consumer.renew()),
                "answer": asyncio.create_task(consumer.answer()),
                "shutdown": asyncio.create_task(ctx.shutting_down.wait()),
            }
            done, _ = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
            for name in ("deliver", "renew", "answer"):
                if tasks[name] in done:
                    tasks[name].result()  # raises what ended it (deliver and renew only end so)
            reason = "stopped" if tasks["answer"] in done else "shutdown"
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        # Shielded: a cancelled call still hands its unacked events to the others.
        await asyncio.shield(group_delivery.leave(pool, gid, consumer_id))
    return {
        "reason": reason,
        "consumer": str(consumer_id),
        "delivered": consumer.delivered,
        "acked": consumer.acked,
        "nacked": consumer.nacked,
    }
