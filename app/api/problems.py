"""Turn every error into an RFC 9457 problem+json response, and document them in OpenAPI."""

import re
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import ChronicleError
from app.schemas.problem import PROBLEM_MEDIA_TYPE, Problem, problem_type

log = structlog.get_logger(__name__)

_DESCRIPTIONS = {
    400: "Malformed request (e.g. a body that is not JSON)",
    401: "No valid credentials: send `Authorization: Bearer <API key>` or HTTP Basic",
    403: "The credentials are valid but lack the role this needs on the chronicle",
    404: "The chronicle, stream, event or persistent subscription does not exist",
    409: "Conflict: the name exists, the expected version does not match, or an event id "
    "was reused",
    410: "The stream was hard-deleted (`stream_deleted`): no read or write may use it again",
    412: "Precondition failed: the stream version does not match If-Match or If-None-Match; "
    "the body is the 409's (`wrong_expected_version`, expected and actual)",
    413: "The body, an event or a batch is larger than the configured limit",
    422: "The request is well-formed JSON but invalid",
    503: "The database cannot be reached",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses, all problem+json."""
    ref = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": ref}},
        }
        for status in statuses
    }


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    request: Request,
    details: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> ProblemResponse:
    body = Problem(
        type=problem_type(code),
        title=title,
        status=status,
        detail=detail,
        code=code,
        instance=request.url.path,
        details=details or {},
        errors=errors,
    )
    return ProblemResponse(jsonable_encoder(body.model_dump(exclude_none=True)), status_code=status)


async def _chronicle_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, ChronicleError)
    response = problem(
        error.status, error.code, error.title, error.detail, request, details=error.details
    )
    response.headers.update(error.headers())
    return response


async def _validation_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in error.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(
            400,
            "malformed_json",
            "Malformed JSON",
            "the request body is not valid JSON: " + errors[0]["msg"],
            request,
            errors=errors,
        )
    summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem(422, "validation_error", "Invalid request", summary, request, errors=errors)


async def _http_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        error.status_code, "http_error"
    )
    response = problem(error.status_code, code, str(error.detail), str(error.detail), request)
    # Keep what the error carries for the client, e.g. Allow on 405.
    response.headers.update(error.headers or {})
    if error.status_code == 405:
        # Starlette names only the first route on the path; list every method it serves.
        response.headers["Allow"] = ", ".join(sorted(_methods_on_path(request)))
    return response


def _methods_on_path(request: Request) -> set[str]:
    # Routers nest in FastAPI; the OpenAPI document is the flat list of path templates.
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), request.url.path):
            methods |= {method.upper() for method in operations}
    return methods


async def _database_unavailable(request: Request, error: Exception) -> ProblemResponse:
    log.warning("database_unavailable", path=request.url.path, error=repr(error))
    return problem(
        503,
        "unavailable",
        "Database unavailable",
        "the database cannot be reached right now; retry shortly",
        request,
    )


async def _unexpected_error(request: Request, error: Exception) -> ProblemResponse:
    log.exception("unhandled_error", path=request.url.path)
    return problem(
        500,
        "internal_error",
        "Internal error",
        "the server failed unexpectedly; the error is logged. Retry, and report it if it persists",
        request,
    )


_Handler = Callable[[Request, Exception], Awaitable[ProblemResponse]]

# By exception class; the most specific class in an error's MRO wins, as in Starlette.
_HANDLERS: dict[type[Exception], _Handler] = {
    ChronicleError: _chronicle_error,
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    **{
        unavailable: _database_unavailable
        for unavailable in (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)
    },
    Exception: _unexpected_error,
}


def install_problem_handlers(app: FastAPI) -> None:
    for error_class, handler in _HANDLERS.items():
        app.add_exception_handler(error_class, handler)


async def problem_for(request: Request, error: Exception) -> ProblemResponse:
    """The answer FastAPI's installed handlers give ``error``, for code that runs outside
    FastAPI's routing (the publish fast path): one error model either way."""
    for error_class in type(error).__mro__:
        handler = _HANDLERS.get(error_class)
        if handler is not None:
            return await handler(request, error)
    raise error  # a BaseException that is not an Exception: not ours to answer
