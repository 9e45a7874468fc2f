"""Access control for REST: every protected route lists ``requires(need)`` first.

It is the first dependency of the route, so 401 and 403 come before path and body
validation (422): a caller without access learns nothing about what it sent. Only
``/health``, the docs and the dashboard's static files are public; a test walks the
route table and fails for any other route without a ``Requires``.
"""

from collections.abc import Iterable
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, Request
from fastapi.routing import APIRoute

from app.api.problems import problem_responses
from app.auth.authenticator import Authenticator
from app.domain.access import AUTHENTICATED, Caller, Need
from app.domain.credentials import parse_key


class Requires:
    """Authenticate the request, then authorize ``need`` on the chronicle it names: the
    ``chronicle`` path parameter, or for the global log the ``chronicle`` query parameter
    (absent: the route filters its result to what the caller may read)."""

    def __init__(
        self, need: Need, chronicle_in: Literal["path", "query"] = "path", fresh: bool = False
    ) -> None:
        self.need = need
        self.chronicle_in = chronicle_in
        self.fresh = fresh
        """Decide with grants read now: for listings filtered to what the caller may read,
        where a chronicle created a moment ago on another process must already show."""

    async def __call__(self, request: Request) -> Caller:
        authenticator: Authenticator = request.app.state.authenticator
        caller = await authenticator.authenticate_header(request.headers.get("authorization"))
        if self.fresh:
            caller = await authenticator.refreshed(caller)
        params = request.path_params if self.chronicle_in == "path" else request.query_params
        caller = await authenticator.authorize(caller, self.need, params.get("chronicle"))
        request.state.caller = caller
        structlog.contextvars.bind_contextvars(principal=caller.principal)
        return caller


def requires(
    need: Need, chronicle_in: Literal["path", "query"] = "path", fresh: bool = False
) -> Any:
    """For a route's ``dependencies=[...]``: the caller needs ``need``."""
    return Depends(Requires(need, chronicle_in, fresh))


def calling_key_id(request: Request) -> str | None:
    """The id of the API key the request is made with, if it is made with one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    parsed = parse_key(token.strip()) if scheme.lower() == "bearer" else None
    return parsed[0] if parsed else None


async def _caller(request: Request) -> Caller:
    caller: Caller = request.state.caller
    return caller


async def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


CallerDep = Annotated[Caller, Depends(_caller)]
"""The caller that the route's ``requires`` let in."""
AuthenticatorDep = Annotated[Authenticator, Depends(_authenticator)]


def route_requirement(route: APIRoute) -> Requires | None:
    """The ``Requires`` a route declares, if any (the OpenAPI document and the access
    tests read the route table through this)."""
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Requires):
            return dependency.call
    return None


SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "chr_<16 hex>_<43 characters>",
        "description": "An API key: printed once on first start, or made with "
        "POST /principals/{name}/keys or `chronicle key create`.",
    },
    "Basic": {
        "type": "http",
        "scheme": "basic",
        "description": "A principal's username and password.",
    },
}


def document_security(schema: dict[str, Any], routes: Iterable[APIRoute]) -> None:
    """Declare the credentials and the 401/403 answers of every protected operation
    (operation ids are route names)."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    requirements = {route.name: route_requirement(route) for route in routes}
    for operations in schema["paths"].values():
        for operation in operations.values():
            requirement = requirements.get(operation["operationId"])
            if requirement is None:
                continue
            statuses = (401,) if requirement.need is AUTHENTICATED else (401, 403)
            operation["security"] = [{"ApiKey": []}, {"Basic": []}]
            responses = {**operation["responses"]}
            for status, response in problem_responses(*statuses).items():
                responses.setdefault(str(status), response)
            operation["responses"] = dict(sorted(responses.items()))
