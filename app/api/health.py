"""Liveness, readiness and metrics."""

import asyncpg
from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.api.auth import requires
from app.api.deps import PoolDep
from app.api.problems import problem_responses
from app.domain.access import AUTHENTICATED, SERVER_ADMIN
from app.errors import UnavailableError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/health", summary="Liveness")
async def health() -> Health:
    """Answers while the process runs; does not touch the database."""
    return Health(status="ok")


@router.get(
    "/ready",
    responses=problem_responses(503),
    summary="Readiness",
    dependencies=[requires(AUTHENTICATED)],
)
async def ready(pool: PoolDep) -> Health:
    """Answers 200 when the database answers a query, 503 otherwise."""
    try:
        await pool.fetchval("SELECT 1", timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
        raise UnavailableError(f"the database does not answer: {error}") from error
    return Health(status="ready")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}
    },
    dependencies=[requires(SERVER_ADMIN)],
)
async def metrics() -> Response:
    """Counters and histograms in the Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
