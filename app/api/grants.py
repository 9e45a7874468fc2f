"""Routes for the roles principals hold on a chronicle (its admins manage them)."""

from fastapi import APIRouter, status

from app.api.auth import AuthenticatorDep, requires
from app.api.deps import ChronicleName, PoolDep
from app.api.principals import PrincipalName
from app.api.problems import problem_responses
from app.domain.access import ADMIN
from app.schemas.principals import GrantIn, GrantList, GrantOut
from app.storage import principals

router = APIRouter(prefix="/chronicles/{chronicle}/grants", tags=["access"])


@router.get(
    "",
    dependencies=[requires(ADMIN)],
    responses=problem_responses(404, 422),
    summary="List a chronicle's grants",
)
async def list_grants(chronicle: ChronicleName, pool: PoolDep) -> GrantList:
    """Who holds which role on the chronicle (server admins hold every role anyway)."""
    return GrantList(items=[GrantOut.of(g) for g in await principals.list_grants(pool, chronicle)])


@router.put(
    "/{principal}",
    dependencies=[requires(ADMIN)],
    responses=problem_responses(400, 404, 413, 422),
    summary="Grant a role on a chronicle",
)
async def set_grant(
    chronicle: ChronicleName,
    principal: PrincipalName,
    body: GrantIn,
    pool: PoolDep,
    authenticator: AuthenticatorDep,
) -> GrantOut:
    """Give the principal `read` (read, replay, query, subscribe), `write` (+ publish,
    create streams) or `admin` (+ manage the chronicle, its streams and its grants),
    replacing the role it had. Works at once, on every server process."""
    granted = await principals.set_grant(pool, chronicle, principal, body.role)
    authenticator.forget()
    return GrantOut.of(granted)


@router.delete(
    "/{principal}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[requires(ADMIN)],
    responses=problem_responses(404, 422),
    summary="Take a principal's role on a chronicle away",
)
async def delete_grant(
    chronicle: ChronicleName,
    principal: PrincipalName,
    pool: PoolDep,
    authenticator: AuthenticatorDep,
) -> None:
    """Works at once on this server process, within `CHRONICLE_AUTH_CACHE_SECONDS` on others."""
    await principals.delete_grant(pool, chronicle, principal)
    authenticator.forget()
