"""Routes for persistent subscriptions (EventStoreDB's consumer groups) and parked events.

A group is named within its chronicle (`/chronicles/{chronicle}/subscriptions/{group}`,
following the chronicle or one of its streams), or among the groups of everything
(`/subscriptions/{group}`, EventStoreDB's `$all`). Consumers join over the WebSocket
(`persistent_subscribe`).
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.auth import requires
from app.api.deps import DEFAULT_PAGE_SIZE, ChronicleName, Limit, PoolDep
from app.api.problems import problem_responses
from app.domain.access import ADMIN, READ, SERVER_ADMIN
from app.domain.names import CHRONICLE_NAME_PATTERN
from app.schemas.subscriptions import (
    ChronicleSubscriptionIn,
    ParkedPage,
    ReplayOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionPatch,
)
from app.storage import groups

router = APIRouter(tags=["subscriptions"])

_IN_CHRONICLE = "/chronicles/{chronicle}/subscriptions"
_ALL = "/subscriptions"

GroupName = Annotated[
    str,
    Path(
        pattern=CHRONICLE_NAME_PATTERN,
        description="Persistent subscription (group) name",
        examples=["billing"],
    ),
]
After = Annotated[
    str | None,
    Query(pattern=CHRONICLE_NAME_PATTERN, description="Continue after this name (`next`)"),
]
ParkedAfter = Annotated[
    int | None, Query(ge=0, le=2**63 - 1, description="Continue after this position (`next`)")
]
ReplayLimit = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="Replay only the oldest N; absent: all")
]

_CREATED = {201: {"model": SubscriptionOut, "description": "The group was created"}}


async def _create(
    pool: PoolDep, chronicle: str | None, group: str, body: SubscriptionIn, response: Response
) -> SubscriptionOut:
    created = await groups.create_group(pool, chronicle, group, **body.group_options())
    prefix = _ALL if chronicle is None else f"/chronicles/{chronicle}/subscriptions"
    response.headers["Location"] = f"{prefix}/{group}"
    return SubscriptionOut.of(created)


# Groups of a chronicle


@router.get(
    _IN_CHRONICLE,
    responses=problem_responses(404, 422),
    summary="List a chronicle's persistent subscriptions",
    dependencies=[requires(READ)],
)
async def list_chronicle_subscriptions(
    chronicle: ChronicleName, pool: PoolDep, after: After = None, limit: Limit = DEFAULT_PAGE_SIZE
) -> SubscriptionPage:
    """The chronicle's groups in name order, each with its checkpoint and counts."""
    page = await groups.list_groups(pool, chronicle, after, limit)
    return SubscriptionPage(items=[SubscriptionOut.of(g) for g in page.items], next=page.next)


@router.put(
    f"{_IN_CHRONICLE}/{{group}}",
    status_code=status.HTTP_201_CREATED,
    responses={**_CREATED, **problem_responses(400, 404, 409, 413, 422)},
    summary="Create a persistent subscription on a chronicle or stream",
    dependencies=[requires(ADMIN)],
)
async def create_chronicle_subscription(
    chronicle: ChronicleName,
    group: GroupName,
    body: ChronicleSubscriptionIn,
    pool: PoolDep,
    response: Response,
) -> SubscriptionOut:
    """Create the group `group` on the chronicle, or on one `stream` of it (which need not
    exist yet), optionally only for event types matching `types`. A name that is taken
    in this chronicle answers 409 `subscription_exists`; an unknown chronicle 404.

    Consumers join it over the WebSocket (`persistent_subscribe`) and share its events:
    at-least-once, each event to one consumer at a time, redelivered after `ack_timeout`
    unless acked, parked after `max_retries`.
    """
    return await _create(pool, chronicle, group, body, response)


@router.get(
    f"{_IN_CHRONICLE}/{{group}}",
    responses=problem_responses(404, 422),
    summary="Get a chronicle's persistent subscription",
    dependencies=[requires(READ)],
)
async def get_chronicle_subscription(
    chronicle: ChronicleName, group: GroupName, pool: PoolDep
) -> SubscriptionOut:
    """Scope, settings, checkpoint, and how many events are pending, in flight and parked."""
    return SubscriptionOut.of(await groups.get_group(pool, chronicle, group))


@router.patch(
    f"{_IN_CHRONICLE}/{{group}}",
    responses=problem_responses(400, 404, 413, 422),
    summary="Update a chronicle's persistent subscription",
    dependencies=[requires(ADMIN)],
)
async def update_chronicle_subscription(
    chronicle: ChronicleName, group: GroupName, body: SubscriptionPatch, pool: PoolDep
) -> SubscriptionOut:
    """Change settings; a field left out keeps its value. Events in flight keep their
    deadline; the rest applies at once, also to connected consumers."""
    return SubscriptionOut.of(await groups.update_group(pool, chronicle, group, **body.changes()))


@router.delete(
    f"{_IN_CHRONICLE}/{{group}}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 422),
    summary="Delete a chronicle's persistent subscription",
    dependencies=[requires(ADMIN)],
)
async def delete_chronicle_subscription(
    chronicle: ChronicleName, group: GroupName, pool: PoolDep
) -> None:
    """Delete the group with its checkpoint and parked events. Connected consumers end with
    `subscription_not_found`. Deleting the chronicle deletes its groups too."""
    await groups.delete_group(pool, chronicle, group)


@router.get(
    f"{_IN_CHRONICLE}/{{group}}/parked",
    responses=problem_responses(404, 422),
    summary="List a chronicle's persistent subscription's parked events",
    dependencies=[requires(READ)],
)
async def list_chronicle_parked_events(
    chronicle: ChronicleName,
    group: GroupName,
    pool: PoolDep,
    after: ParkedAfter = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> ParkedPage:
    """Events parked by a consumer's nack or after `max_retries`, in position order, each
    with its retry count and the reason."""
    return ParkedPage.of(*await groups.list_parked(pool, chronicle, group, after, limit))


@router.post(
    f"{_IN_CHRONICLE}/{{group}}/parked/replay",
    responses=problem_responses(404, 422),
    summary="Replay a chronicle's persistent subscription's parked events",
    dependencies=[requires(ADMIN)],
)
async def replay_chronicle_parked_events(
    chronicle: ChronicleName, group: GroupName, pool: PoolDep, limit: ReplayLimit = None
) -> ReplayOut:
    """Move parked events (the oldest `limit`, or all) back to delivery, their retry count
    reset. They go to consumers before newer events and do not move the checkpoint."""
    return ReplayOut(replayed=await groups.replay_parked(pool, chronicle, group, limit))


# Groups of everything


@router.get(
    _ALL,
    responses=problem_responses(422),
    summary="List the persistent subscriptions of everything",
    dependencies=[requires(SERVER_ADMIN)],
)
async def list_subscriptions(
    pool: PoolDep, after: After = None, limit: Limit = DEFAULT_PAGE_SIZE
) -> SubscriptionPage:
    """The groups that follow every chronicle, in name order."""
    page = await groups.list_groups(pool, None, after, limit)
    return SubscriptionPage(items=[SubscriptionOut.of(g) for g in page.items], next=page.next)


@router.put(
    f"{_ALL}/{{group}}",
    status_code=status.HTTP_201_CREATED,
    responses={**_CREATED, **problem_responses(400, 409, 413, 422)},
    summary="Create a persistent subscription to everything",
    dependencies=[requires(SERVER_ADMIN)],
)
async def create_subscription(
    group: GroupName, body: SubscriptionIn, pool: PoolDep, response: Response
) -> SubscriptionOut:
    """Create the group `group` on the global log (every chronicle), optionally only for
    event types matching `types`. A name that is taken among these groups answers 409
    `subscription_exists`."""
    return await _create(pool, None, group, body, response)


@router.get(
    f"{_ALL}/{{group}}",
    responses=problem_responses(404, 422),
    summary="Get a persistent subscription to everything",
    dependencies=[requires(SERVER_ADMIN)],
)
async def get_subscription(group: GroupName, pool: PoolDep) -> SubscriptionOut:
    """Scope, settings, checkpoint, and how many events are pending, in flight and parked."""
    return SubscriptionOut.of(await groups.get_group(pool, None, group))


@router.patch(
    f"{_ALL}/{{group}}",
    responses=problem_responses(400, 404, 413, 422),
    summary="Update a persistent subscription to everything",
    dependencies=[requires(SERVER_ADMIN)],
)
async def update_subscription(
    group: GroupName, body: SubscriptionPatch, pool: PoolDep
) -> SubscriptionOut:
    """Change settings; a field left out keeps its value."""
    return SubscriptionOut.of(await groups.update_group(pool, None, group, **body.changes()))


@router.delete(
    f"{_ALL}/{{group}}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 422),
    summary="Delete a persistent subscription to everything",
    dependencies=[requires(SERVER_ADMIN)],
)
async def delete_subscription(group: GroupName, pool: PoolDep) -> None:
    """Delete the group; connected consumers end with `subscription_not_found`."""
    await groups.delete_group(pool, None, group)


@router.get(
    f"{_ALL}/{{group}}/parked",
    responses=problem_responses(404, 422),
    summary="List a persistent subscription's parked events",
    dependencies=[requires(SERVER_ADMIN)],
)
async def list_parked_events(
    group: GroupName, pool: PoolDep, after: ParkedAfter = None, limit: Limit = DEFAULT_PAGE_SIZE
) -> ParkedPage:
    """Parked events in position order, with retry count and reason."""
    return ParkedPage.of(*await groups.list_parked(pool, None, group, after, limit))


@router.post(
    f"{_ALL}/{{group}}/parked/replay",
    responses=problem_responses(404, 422),
    summary="Replay a persistent subscription's parked events",
    dependencies=[requires(SERVER_ADMIN)],
)
async def replay_parked_events(
    group: GroupName, pool: PoolDep, limit: ReplayLimit = None
) -> ReplayOut:
    """Move parked events (the oldest `limit`, or all) back to delivery."""
    return ReplayOut(replayed=await groups.replay_parked(pool, None, group, limit))
