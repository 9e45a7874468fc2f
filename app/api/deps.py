"""FastAPI dependencies: shared resources from lifespan state, validated path parameters.

Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a thread
hop per request for what is an attribute lookup."""

from typing import Annotated

import asyncpg
from fastapi import Depends, Path, Query, Request

from app.config import Settings
from app.domain.limits import PublishLimits
from app.domain.names import CHRONICLE_NAME_PATTERN, STREAM_NAME_PATTERN
from app.storage.group_commit import GroupCommitter

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _appender(request: Request) -> GroupCommitter:
    appender: GroupCommitter = request.app.state.appender
    return appender


async def _limits(settings: Annotated[Settings, Depends(_settings)]) -> PublishLimits:
    return PublishLimits(
        max_event_bytes=settings.max_event_bytes,
        max_events_per_publish=settings.max_events_per_publish,
    )


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
SettingsDep = Annotated[Settings, Depends(_settings)]
LimitsDep = Annotated[PublishLimits, Depends(_limits)]
AppenderDep = Annotated[GroupCommitter, Depends(_appender)]

ChronicleName = Annotated[
    str, Path(pattern=CHRONICLE_NAME_PATTERN, description="Chronicle name", examples=["sensors"])
]
StreamName = Annotated[
    str, Path(pattern=STREAM_NAME_PATTERN, description="Stream name", examples=["room1"])
]
Limit = Annotated[
    int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size, at most {MAX_PAGE_SIZE}")
]
