"""Every REST route and hub method refuses a caller without credentials (401) and one with
too small a role (403), and lets the role it needs through.

Generated from the route table (``app.main.api_routes``) and the hub's ``METHODS``: a new
route or method is in the matrix the moment it exists, and one that declares no access
need fails ``test_every_route_but_the_public_ones_declares_what_it_needs`` (a hub method
cannot even be registered without one).
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi.routing import APIRoute
from websockets.asyncio.client import ClientConnection, connect

from app.api.auth import route_requirement
from app.domain.access import AUTHENTICATED, SERVER_ADMIN, Need, Role
from app.domain.credentials import new_key
from app.hub.calls import METHODS
from app.main import api_routes
from tests.integration.hub_servers import ws_url
from tests.integration.principals import Principal, grant, make_principal
from tests.support import TIMEOUT, fresh_name

PUBLIC = {("GET", "/health"), ("GET", "/"), ("GET", "/assets/{name}")}
"""Liveness, and the dashboard's static files (it asks for a key itself)."""

ROUTES: dict[tuple[str, str], APIRoute] = {
    (method, route.path_format): route for route in api_routes() for method in route.methods
}
PROTECTED = sorted(endpoint for endpoint in ROUTES if endpoint not in PUBLIC)

BELOW = {Role.READ: None, Role.WRITE: Role.READ, Role.ADMIN: Role.WRITE}
"""The role just too small for each role; None: no grant at all."""


@dataclass(frozen=True)
class Cast:
    """Principals with exactly one role each on every scene's chronicle."""

    read: Principal
    write: Principal
    admin: Principal
    stranger: Principal  # no role anywhere

    def holding(self, role: Role | None) -> Principal:
        return self.stranger if role is None else getattr(self, role.value)


@dataclass(frozen=True)
class Scene:
    chronicle: str
    principal: str  # a principal to manage in /principals/{principal} routes
    key_id: str


@pytest.fixture(scope="module")
async def cast(server: str) -> Cast:
    from tests.support import AUTH

    async with httpx.AsyncClient(base_url=server, headers=AUTH, timeout=TIMEOUT) as admin:
        return Cast(*[await make_principal(admin, role) for role in ("r", "w", "a", "x")])


@pytest.fixture
async def scene(client: httpx.AsyncClient, cast: Cast) -> Scene:
    chronicle = fresh_name("acl")
    assert (await client.post("/chronicles", json={"name": chronicle})).status_code == 201
    published = await client.post(
        f"/chronicles/{chronicle}/streams/s/events", json={"events": [{"type": "t"}]}
    )
    assert published.status_code == 201
    for role in Role:
        await grant(client, chronicle, cast.holding(role).name, role.value)
    target = await make_principal(client, "target")
    key_id = target.key.split("_")[1]
    return Scene(chronicle, target.name, key_id)


def url(path: str, scene: Scene) -> str:
    filled = (
        path.replace("{chronicle}", scene.chronicle)
        .replace("{stream}", "s")
        .replace("{version}", "0")
        .replace("{principal}", scene.principal)
        .replace("{key_id}", scene.key_id)
        .replace("{group}", "g")
    )
    # The global log names its chronicle in the query: that is what it authorizes on.
    return filled + (f"?chronicle={scene.chronicle}" if path == "/events" else "")


def need_of(endpoint: tuple[str, str]) -> Need:
    requirement = route_requirement(ROUTES[endpoint])
    assert requirement is not None
    return requirement.need


def refusing(need: Need, cast: Cast) -> Principal | None:
    """A principal that must be refused, or None when any principal may call it."""
    if need is AUTHENTICATED:
        return None
    if need is SERVER_ADMIN:
        return cast.admin  # admin of the chronicle, but not of the server
    assert need.role is not None
    return cast.holding(BELOW[need.role])


def admitting(need: Need, cast: Cast, server_admin: Principal) -> Principal:
    if need is SERVER_ADMIN:
        return server_admin
    if need is AUTHENTICATED or need.role is None:
        return cast.stranger
    return cast.holding(need.role)


def test_every_route_but_the_public_ones_declares_what_it_needs() -> None:
    assert PUBLIC <= set(ROUTES), "a public route is gone: update PUBLIC"
    for (method, path), route in ROUTES.items():
        declared = route_requirement(route)
        if (method, path) in PUBLIC:
            assert declared is None, f"{method} {path} is public but declares {declared.need}"
        else:
            assert declared is not None, f"{method} {path} has no requires(...): add one"
    assert len(PROTECTED) >= 30


# The policy, independent of what routes declare, so a route cannot loosen itself unseen.
OPEN_TO_ANY_PRINCIPAL = {
    ("POST", "/chronicles"),  # the creator becomes the new chronicle's admin
    ("GET", "/chronicles"),  # filtered to readable chronicles
    ("GET", "/events"),  # the global log, filtered unless ?chronicle= (then READ on it)
    ("GET", "/me"),
    ("GET", "/ready"),
}
HUB_OPEN_TO_ANY_PRINCIPAL = {"ping", "create_chronicle", "list_chronicles"}


def policy_minimum(method: str, path: str) -> Need | Role:
    """The least a route may ask for: the server admin for principals and metrics, a role
    on the chronicle its path names (reads read, writes write, deletes admin)."""
    # Principals, metrics, and persistent subscriptions that hand out every chronicle.
    if path.startswith(("/principals", "/subscriptions")) or path == "/metrics":
        return SERVER_ADMIN
    if "{chronicle}" in path:
        if method == "DELETE" or path.endswith("/grants") or "/grants/" in path:
            return Role.ADMIN
        return Role.READ if method == "GET" else Role.WRITE
    assert (method, path) in OPEN_TO_ANY_PRINCIPAL, f"{method} {path}: add it to the policy"
    return AUTHENTICATED


def hub_minimum(name: str) -> Need | Role:
    if name in HUB_OPEN_TO_ANY_PRINCIPAL:
        return AUTHENTICATED
    if name == "stats":
        return SERVER_ADMIN
    if name.startswith(("delete_", "set_", "update_", "replay_")):
        return Role.ADMIN
    if name.startswith(("publish", "append", "acquire_", "create_")):
        return Role.WRITE
    return Role.READ


def meets(need: Need, minimum: Need | Role) -> bool:
    if isinstance(minimum, Role):
        return need.role is not None and need.role.includes(minimum)
    return need == minimum or (minimum is AUTHENTICATED and need is not None)


def test_declared_needs_follow_the_policy() -> None:
    for method, path in PROTECTED:
        need, minimum = need_of((method, path)), policy_minimum(method, path)
        assert meets(need, minimum), f"{method} {path} needs {need}, the policy says {minimum}"
    for name, hub_method in METHODS.items():
        minimum = hub_minimum(name)
        assert meets(hub_method.need, minimum), f"{name} needs {hub_method.need}, not {minimum}"


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
async def test_route_access(
    server: str, client: httpx.AsyncClient, scene: Scene, cast: Cast, method: str, path: str
) -> None:
    target, need = url(path, scene), need_of((method, path))
    forged = new_key().token
    async with httpx.AsyncClient(base_url=server, timeout=TIMEOUT) as anonymous:
        for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Authorization": "Token x"}):
            answer = await anonymous.request(method, target, headers=headers)
            assert answer.status_code == 401, (headers, answer.text)
            assert answer.json()["code"] == "unauthenticated"
            assert answer.headers["www-authenticate"].startswith("Bearer")

        refused = refusing(need, cast)
        if refused is not None:
            answer = await anonymous.request(method, target, headers=refused.headers)
            assert answer.status_code == 403, answer.text
            assert answer.json()["code"] == "forbidden"

        server_admin = Principal("admin", client.headers["authorization"].split()[1])
        admitted = admitting(need, cast, server_admin)
        answer = await anonymous.request(method, target, headers=admitted.headers)
        assert answer.status_code not in (401, 403), (admitted.name, answer.text)


# the hub


async def first_answer(ws: ClientConnection, call_id: int) -> dict[str, Any]:
    """The first data, end or error frame of the call (acks and pings skipped)."""
    while True:
        frame = orjson.loads(await ws.recv(decode=False))
        if frame["type"] == "ping":
            await ws.send(orjson.dumps({"type": "pong", "data": frame["data"]}).decode())
        elif frame.get("id") == call_id and frame["type"] in ("data", "end", "error"):
            return frame


async def call_as(
    server: str, principal: Principal | None, method: str, params: dict[str, Any]
) -> dict[str, Any]:
    headers = principal.headers if principal else {}
    async with connect(ws_url(server), additional_headers=headers) as ws:
        call = {"type": "call", "id": 1, "method": method, "params": params}
        await ws.send(orjson.dumps(call).decode())
        if METHODS[method].accepts_sends and principal is not None:
            await ws.send(orjson.dumps({"type": "end", "id": 1}).decode())
        return await first_answer(ws, 1)


@pytest.fixture
async def server_admin(client: httpx.AsyncClient) -> AsyncIterator[Principal]:
    yield Principal("admin", client.headers["authorization"].split()[1])


@pytest.mark.parametrize("name", sorted(METHODS))
async def test_hub_method_access(
    server: str, scene: Scene, cast: Cast, server_admin: Principal, name: str
) -> None:
    method = METHODS[name]
    params = {method.chronicle_param: scene.chronicle}

    anonymous = await call_as(server, None, name, params)
    assert anonymous["type"] == "error", anonymous
    assert anonymous["error"]["code"] == "unauthenticated"

    refused = refusing(method.need, cast)
    if refused is not None:
        answer = await call_as(server, refused, name, params)
        assert answer["type"] == "error", answer
        assert answer["error"]["code"] == "forbidden", answer

    answer = await call_as(server, admitting(method.need, cast, server_admin), name, params)
    if answer["type"] == "error":
        assert answer["error"]["code"] not in ("unauthenticated", "forbidden"), answer
