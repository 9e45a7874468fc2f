"""Routes for chronicles: create, list, get, update attributes, delete."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.auth import AuthenticatorDep, CallerDep, requires
from app.api.deps import DEFAULT_PAGE_SIZE, ChronicleName, Limit, PoolDep
from app.api.problems import problem_responses
from app.domain.access import ADMIN, AUTHENTICATED, READ
from app.domain.names import CHRONICLE_NAME_PATTERN
from app.schemas.catalog import ChronicleIn, ChronicleOut, ChroniclePage, ChroniclePatch
from app.storage import catalog, deletion

router = APIRouter(prefix="/chronicles", tags=["chronicles"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 409, 413, 422),
    summary="Create a chronicle",
    dependencies=[requires(AUTHENTICATED)],
)
async def create_chronicle(
    body: ChronicleIn,
    pool: PoolDep,
    response: Response,
    caller: CallerDep,
    authenticator: AuthenticatorDep,
) -> ChronicleOut:
    """Create a chronicle. A name that is taken answers 409 with code `chronicle_exists`.

    Any principal may create one, and becomes its admin."""
    chronicle = await catalog.create_chronicle(
        pool, body.name, body.attributes, owner_id=caller.principal_id
    )
    authenticator.forget()
    response.headers["Location"] = f"/chronicles/{chronicle.name}"
    return ChronicleOut.of(chronicle)


@router.get(
    "",
    responses=problem_responses(422),
    summary="List chronicles",
    dependencies=[requires(AUTHENTICATED, fresh=True)],
)
async def list_chronicles(
    pool: PoolDep,
    caller: CallerDep,
    after: Annotated[
        str | None,
        Query(pattern=CHRONICLE_NAME_PATTERN, description="Continue after this name (`next`)"),
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> ChroniclePage:
    """The chronicles the caller may read, in name order, a page at a time."""
    page = await catalog.list_chronicles(pool, after, limit, caller.chronicle_filter)
    return ChroniclePage(items=[ChronicleOut.of(c) for c in page.items], next=page.next)


@router.get(
    "/{chronicle}",
    responses=problem_responses(404, 422),
    summary="Get a chronicle",
    dependencies=[requires(READ)],
)
async def get_chronicle(chronicle: ChronicleName, pool: PoolDep) -> ChronicleOut:
    """One chronicle with its attributes."""
    return ChronicleOut.of(await catalog.get_chronicle(pool, chronicle))


@router.patch(
    "/{chronicle}",
    responses=problem_responses(400, 404, 413, 422),
    summary="Update a chronicle's attributes",
    dependencies=[requires(ADMIN)],
)
async def update_chronicle(
    chronicle: ChronicleName, body: ChroniclePatch, pool: PoolDep
) -> ChronicleOut:
    """Merge the given attributes into the chronicle's; a key set to null is removed."""
    return ChronicleOut.of(
        await catalog.update_chronicle_attributes(pool, chronicle, body.attributes)
    )


@router.delete(
    "/{chronicle}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 422),
    summary="Delete a chronicle",
    dependencies=[requires(ADMIN)],
)
async def delete_chronicle(
    chronicle: ChronicleName, pool: PoolDep, authenticator: AuthenticatorDep
) -> None:
    """Delete the chronicle with all of its streams and events, at once and for good.

    Publishes to it wait until the delete commits, then answer 404; live subscriptions on
    the chronicle or its streams end with `chronicle_not_found`. The name can be reused.
    """
    await deletion.delete_chronicle(pool, chronicle)
    authenticator.forget()  # its grants went with it
