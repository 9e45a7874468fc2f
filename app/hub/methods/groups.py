"""Unary hub methods that manage persistent subscriptions: the REST routes' twins.

A group is named within its ``chronicle``, or, with no chronicle, among the groups of
everything; those hand out every chronicle's events, so only server admins manage them.
"""

from typing import Any

from pydantic import Field, model_validator

from app.domain.access import ADMIN, READ, SERVER_ADMIN, Caller, authorize
from app.domain.names import CHRONICLE_NAME_PATTERN
from app.hub.calls import CallContext, method
from app.hub.methods.catalog import ListParams, Params
from app.schemas.subscriptions import (
    ChronicleSubscriptionIn,
    ParkedPage,
    ReplayOut,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionPatch,
)
from app.storage import groups

_GROUP = Field(pattern=CHRONICLE_NAME_PATTERN, description="The group's name")
_CHRONICLE = Field(
    default=None,
    pattern=CHRONICLE_NAME_PATTERN,
    description="The group's chronicle; absent: a group of everything (server admins)",
)


class GroupRef(Params):
    chronicle: str | None = _CHRONICLE
    group: str = _GROUP


class CreateGroupParams(ChronicleSubscriptionIn):
    chronicle: str | None = _CHRONICLE
    group: str = _GROUP

    @model_validator(mode="after")
    def _stream_in_a_chronicle(self) -> "CreateGroupParams":
        if self.stream is not None and self.chronicle is None:
            raise ValueError("a stream is named with its chronicle")
        return self


class UpdateGroupParams(SubscriptionPatch):
    chronicle: str | None = _CHRONICLE
    group: str = _GROUP


class ListGroupsParams(ListParams):
    chronicle: str | None = _CHRONICLE


class ParkedParams(GroupRef):
    after: int | None = Field(default=None, ge=0, le=2**63 - 1)
    limit: int = Field(default=100, ge=1, le=1000)


class ReplayParkedParams(GroupRef):
    limit: int | None = Field(default=None, ge=1, le=2**31 - 1)


def _everything_for_server_admins(caller: Caller, chronicle: str | None) -> None:
    # The method's own need was checked on the chronicle; without one it is everything.
    if chronicle is None:
        authorize(caller, SERVER_ADMIN, None)


@method("create_subscription", CreateGroupParams, need=ADMIN)
async def create_subscription(ctx: CallContext, params: CreateGroupParams) -> SubscriptionOut:
    """Create a group; ``subscription_exists`` if the name is taken in its place."""
    _everything_for_server_admins(ctx.caller, params.chronicle)
    created = await groups.create_group(
        ctx.pool, params.chronicle, params.group, **params.group_options()
    )
    return SubscriptionOut.of(created)


@method("get_subscription", GroupRef, need=READ)
async def get_subscription(ctx: CallContext, params: GroupRef) -> SubscriptionOut:
    """Scope, settings, checkpoint, and the pending, in-flight and parked counts."""
    _everything_for_server_admins(ctx.caller, params.chronicle)
    return SubscriptionOut.of(await groups.get_group(ctx.pool, params.chronicle, params.group))


@method("list_subscriptions", ListGroupsParams, need=READ)
async def list_subscriptions(ctx: CallContext, params: ListGroupsParams) -> SubscriptionPage:
    """The groups of a chronicle (or of everything) in name order; ``next`` continues."""
    _everything_for_server_admins(ctx.caller, params.chronicle)
    page = await groups.list_groups(ctx.pool, params.chronicle, params.after, params.limit)
    return SubscriptionPage(items=[SubscriptionOut.of(g) for g in page.items], next=page.next)


@method("update_subscription", UpdateGroupParams, need=ADMIN)
async def update_subscription(ctx: CallContext, params: UpdateGroupParams) -> SubscriptionOut:
    """Change settings; a field left out keeps its value."""
    _everything_for_server_admins(ctx.caller, params.chronicle)
    updated = await groups.update_group(
        ctx.pool, params.chronicle, params.group, **params.changes()
    )
    return SubscriptionOut.of(updated)


@method("delete_subscription", GroupRef, need=ADMIN)
async def delete_subscription(ctx: CallContext, params: GroupRef) -> dict[str, Any]:
    """Delete the group; its consumers end with ``subscription_not_found``."""
    _everything_for_server_admins(ctx.caller, params.chronicle)
    await groups.delete_group(ctx.pool, params.chronicle, params.group)
    return {"deleted": True}


@method("list_parked", ParkedParams, need=READ)
async def list_parked(ctx: CallContext, params: ParkedParams) -> ParkedPage:
    """Parked events in position order with retry count and reason; ``next`` continues."""
    _everything_for_server_admins(ctx.caller, params.chronicle)
    return ParkedPage.of(
        *await groups.list_parked(
            ctx.pool, params.chronicle, params.group, params.after, params.limit
        )
    )


@method("replay_parked", ReplayParkedParams, need=ADMIN)
async def replay_parked(ctx: CallContext, params: ReplayParkedParams) -> ReplayOut:
    """Move parked events (the oldest ``limit``, or all) back to delivery."""
    _everything_for_server_admins(ctx.caller, params.chronicle)
    replayed = await groups.replay_parked(ctx.pool, params.chronicle, params.group, params.limit)
    return ReplayOut(replayed=replayed)
