"""The application factory: create_app(settings) wires pool, routers, errors and middleware."""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.api import (
    chronicles,
    dashboard,
    events,
    grants,
    health,
    principals,
    queries,
    streams,
    subscriptions,
)
from app.api.auth import document_security
from app.api.fast_publish import PublishFastPath
from app.api.middleware import RequestMiddleware
from app.api.problems import install_problem_handlers
from app.auth.authenticator import Authenticator
from app.config import Settings
from app.hub import router as hub_router
from app.hub.hub import Hub
from app.schemas.cloudevents import CloudEvent
from app.schemas.problem import Problem
from app.storage import principals as principal_store
from app.storage.database import create_pool
from app.storage.group_commit import GroupCommitter
from app.storage.notifications import Listener
from app.storage.retention import Scavenger

log = structlog.get_logger(__name__)

DESCRIPTION = """\
Chronicle is an event store: chronicles hold streams of immutable events.
Publish with an expected version, read a stream or the global log, replay a time range.
Every error is `application/problem+json` with a stable `code`."""


# Routes are matched in this order: the hot path (publish, reads) first.
ROUTERS = (
    events.router,
    streams.router,
    chronicles.router,
    queries.router,
    subscriptions.router,
    grants.router,
    principals.router,
    health.router,
    hub_router.router,
    dashboard.router,
)


def api_routes() -> list[APIRoute]:
    """Every REST route of the service: the table access control is checked against."""
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


class ChronicleApp(FastAPI):
    """FastAPI entered through the request layer (request id, body limit, metrics, access
    log) and the publish fast path, which answers plain JSON publishes without FastAPI's
    routing (api/fast_publish.py); every other request goes on to FastAPI as usual."""

    _entry: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._entry is None:  # built on first use, when every route is in place
            settings: Settings = self.state.settings
            self._entry = RequestMiddleware(
                PublishFastPath(self, super().__call__), settings.max_request_bytes
            )
        await self._entry(scope, receive, send)


def create_app(settings: Settings) -> ChronicleApp:
    """Build the service for ``settings`` (whose database URL must be known by now)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings)
        app.state.authenticator = Authenticator(app.state.pool, settings)
        if settings.auth_enabled:
            admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
            generated = await principal_store.ensure_admin(app.state.pool, admin_key)
            if generated is not None:
                _announce_admin_key(generated, settings)
        else:
            log.warning("auth_disabled", setting="CHRONICLE_AUTH_ENABLED=false")
        app.state.appender = GroupCommitter(app.state.pool)
        app.state.appender.start()
        listener = Listener(settings.database_dsn())
        await listener.start()
        app.state.hub = Hub(
            app.state.pool, settings, listener, app.state.appender, app.state.authenticator
        )
        scavenger = Scavenger(
            app.state.pool, settings.retention_interval, settings.retention_batch_size
        )
        scavenger.start()
        log.info("service_started", version=__version__)
        try:
            yield
        finally:
            await scavenger.stop()
            await app.state.hub.close()
            await listener.stop()
            await app.state.appender.stop()
            await app.state.pool.close()
            log.info("service_stopped")

    app = ChronicleApp(
        title="Chronicle",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Route function names are the operation ids: stable names for generated clients.
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    _document_problems(app)
    return app


def _document_problems(app: FastAPI) -> None:
    """Add the schemas that responses refer to by hand: Problem (every documented error)
    and CloudEvent (the CloudEvents media types); and the credentials each route takes."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            schemas["CloudEvent"] = CloudEvent.model_json_schema()
            document_security(schema, api_routes())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _announce_admin_key(key: str, settings: Settings) -> None:
    """Show the first admin key once, on stderr and not in the log: it is a secret."""
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"""
=============================================================================
Chronicle created the server admin "admin". Its API key, shown only this once
(only its hash is stored):

    {key}

Send it as a bearer token, e.g.
    curl -H 'Authorization: Bearer {key}' {base}/chronicles
and paste it into the dashboard at {base}/ when it asks. With it, create
principals, keys and grants (POST /principals, POST /principals/NAME/keys,
PUT /chronicles/NAME/grants/PRINCIPAL) or use `chronicle principal|key|grant`.
Lost it? `chronicle key create admin` makes a new one.
=============================================================================
""",
        file=sys.stderr,
        flush=True,
    )
