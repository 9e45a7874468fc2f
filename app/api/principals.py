"""Routes for principals and their API keys (server admins), and the caller's own identity."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from app.api.auth import AuthenticatorDep, CallerDep, calling_key_id, requires
from app.api.deps import DEFAULT_PAGE_SIZE, Limit, PoolDep, SettingsDep
from app.api.problems import problem_responses
from app.domain.access import AUTHENTICATED, SERVER_ADMIN
from app.domain.credentials import hash_password
from app.domain.names import PRINCIPAL_NAME_PATTERN
from app.errors import SelfLockoutError
from app.schemas.principals import (
    KeyCreated,
    KeyIn,
    KeyList,
    KeyOut,
    PrincipalIn,
    PrincipalOut,
    PrincipalPage,
    PrincipalPatch,
    WhoAmI,
)
from app.storage import principals
from app.storage.principals import PrincipalChange

router = APIRouter(tags=["access"])

PrincipalName = Annotated[
    str, Path(pattern=PRINCIPAL_NAME_PATTERN, description="Principal name", examples=["alice"])
]
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The key's public id")]


def _self_lockout(principal: str, what: str) -> SelfLockoutError:
    return SelfLockoutError(
        f"{principal} cannot {what}: that would lock it out. Do it with another server "
        "admin's credentials (or `chronicle principal|key ...` on the server)",
        principal=principal,
    )


async def _hash(password: str) -> str:
    # argon2 is deliberately slow: off the event loop.
    return await asyncio.to_thread(hash_password, password)


@router.get("/me", dependencies=[requires(AUTHENTICATED, fresh=True)], summary="Who am I")
async def who_am_i(caller: CallerDep, settings: SettingsDep) -> WhoAmI:
    """The principal these credentials identify, and its roles on chronicles."""
    return WhoAmI.of(caller, settings.auth_enabled)


@router.post(
    "/principals",
    status_code=status.HTTP_201_CREATED,
    dependencies=[requires(SERVER_ADMIN)],
    responses=problem_responses(400, 409, 413, 422),
    summary="Create a principal",
)
async def create_principal(body: PrincipalIn, pool: PoolDep, response: Response) -> PrincipalOut:
    """A user (with a password, for HTTP Basic) or a service (API keys only). It can do
    nothing until it is granted roles on chronicles, or creates its own."""
    password_hash = None if body.password is None else await _hash(body.password)
    created = await principals.create_principal(pool, body.name, password_hash, body.server_admin)
    response.headers["Location"] = f"/principals/{created.name}"
    return PrincipalOut.of(created)


@router.get(
    "/principals",
    dependencies=[requires(SERVER_ADMIN)],
    responses=problem_responses(422),
    summary="List principals",
)
async def list_principals(
    pool: PoolDep,
    after: Annotated[
        str | None,
        Query(pattern=PRINCIPAL_NAME_PATTERN, description="Continue after this name (`next`)"),
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> PrincipalPage:
    """Principals in name order, a page at a time."""
    page = await principals.list_principals(pool, after, limit)
    return PrincipalPage(items=[PrincipalOut.of(p) for p in page.items], next=page.next)


@router.get(
    "/principals/{principal}",
    dependencies=[requires(SERVER_ADMIN)],
    responses=problem_responses(404, 422),
    summary="Get a principal",
)
async def get_principal(principal: PrincipalName, pool: PoolDep) -> PrincipalOut:
    """Whether it is a server admin and has a password; never the password itself."""
    return PrincipalOut.of(await principals.get_principal(pool, principal))


@router.patch(
    "/principals/{principal}",
    dependencies=[requires(SERVER_ADMIN)],
    responses=problem_responses(400, 404, 409, 413, 422),
    summary="Change a principal's password or server admin flag",
)
async def update_principal(
    principal: PrincipalName,
    body: PrincipalPatch,
    pool: PoolDep,
    authenticator: AuthenticatorDep,
    caller: CallerDep,
) -> PrincipalOut:
    """Set or (with `password: null`) remove the password; make or unmake a server admin.
    The last server admin cannot be unmade (409 `last_server_admin`), nor can a server
    admin unmake itself (409 `self_lockout`: ask another admin)."""
    if body.server_admin is False and principal == caller.principal:
        raise _self_lockout(principal, "unmake its own server admin rights")
    given_password = "password" in body.model_fields_set
    change = PrincipalChange(
        password_hash=await _hash(body.password) if body.password is not None else None,
        clear_password=given_password and body.password is None,
        server_admin=body.server_admin,
    )
    updated = await principals.update_principal(pool, principal, change)
    authenticator.forget()
    return PrincipalOut.of(updated)


@router.delete(
    "/principals/{principal}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[requires(SERVER_ADMIN)],
    responses=problem_responses(404, 409, 422),
    summary="Delete a principal",
)
async def delete_principal(
    principal: PrincipalName, pool: PoolDep, authenticator: AuthenticatorDep, caller: CallerDep
) -> None:
    """Delete a principal with its keys and grants. The last server admin cannot be
    deleted (409 `last_server_admin`), nor can a principal delete itself (409
    `self_lockout`)."""
    if principal == caller.principal:
        raise _self_lockout(principal, "delete itself")
    await principals.delete_principal(pool, principal)
    authenticator.forget()


@router.post(
    "/principals/{principal}/keys",
    status_code=status.HTTP_201_CREATED,
    dependencies=[requires(SERVER_ADMIN)],
    responses=problem_responses(400, 404, 413, 422),
    summary="Create an API key",
)
async def create_key(
    principal: PrincipalName,
    pool: PoolDep,
    body: KeyIn | None = None,
) -> KeyCreated:
    """A new key for the principal. The answer is the only time the whole key is shown:
    only its hash is stored."""
    info, token = await principals.create_key(pool, principal, body.label if body else "")
    return KeyCreated(**KeyOut.of(info).model_dump(), key=token)


@router.get(
    "/principals/{principal}/keys",
    dependencies=[requires(SERVER_ADMIN)],
    responses=problem_responses(404, 422),
    summary="List a principal's API keys",
)
async def list_keys(principal: PrincipalName, pool: PoolDep) -> KeyList:
    """Ids, labels and dates of the principal's keys, revoked ones included; no secrets."""
    return KeyList(items=[KeyOut.of(k) for k in await principals.list_keys(pool, principal)])


@router.delete(
    "/principals/{principal}/keys/{key_id}",
    dependencies=[requires(SERVER_ADMIN)],
    responses=problem_responses(404, 409, 422),
    summary="Revoke an API key",
)
async def revoke_key(
    principal: PrincipalName,
    key_id: KeyId,
    pool: PoolDep,
    authenticator: AuthenticatorDep,
    request: Request,
) -> KeyOut:
    """The key stops working at once on this server process, and within
    `CHRONICLE_AUTH_CACHE_SECONDS` on the others. It stays listed, with `revoked_at`.
    The key a request is made with cannot revoke itself (409 `self_lockout`)."""
    if key_id == calling_key_id(request):
        raise _self_lockout(principal, "revoke the key it is calling with")
    revoked = await principals.revoke_key(pool, principal, key_id)
    authenticator.forget()
    return KeyOut.of(revoked)
