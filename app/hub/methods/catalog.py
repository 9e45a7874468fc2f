"""Unary hub methods for chronicles and streams, and ping; same rules as the REST routes."""

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.domain.access import ADMIN, AUTHENTICATED, READ, WRITE
from app.domain.names import CHRONICLE_NAME_PATTERN, STREAM_NAME_PATTERN
from app.domain.retention import DeleteMode
from app.hub.calls import CallContext, method
from app.schemas.catalog import (
    Attributes,
    ChronicleIn,
    ChronicleOut,
    ChroniclePage,
    StreamMetadata,
    StreamOut,
    StreamPage,
)
from app.storage import catalog, deletion

ChronicleName = Field(pattern=CHRONICLE_NAME_PATTERN)
StreamName = Field(pattern=STREAM_NAME_PATTERN)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoParams(Params):
    pass


class ChronicleRef(Params):
    name: str = ChronicleName


class ListParams(Params):
    after: str | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class ChronicleListParams(ListParams):
    pass


class StreamRef(Params):
    chronicle: str = ChronicleName
    stream: str = StreamName


class AcquireParams(StreamRef):
    attributes: Attributes = Field(default_factory=dict)


class DeleteStreamParams(StreamRef):
    """``soft`` (default): reads as not found, recreated by an append with its versions
    continuing. ``hard``: a tombstone; later calls on it fail with ``stream_deleted``."""

    mode: DeleteMode = DeleteMode.SOFT


class SetStreamMetadataParams(StreamRef, StreamMetadata):
    """Replaces the stream's retention metadata as a whole; a field left out: no limit."""


class StreamListParams(ListParams):
    chronicle: str = ChronicleName


class AcquireOut(BaseModel):
    stream: StreamOut
    created: bool


@method("ping", NoParams, need=AUTHENTICATED)
async def ping(ctx: CallContext, params: NoParams) -> dict[str, Any]:
    return {"pong": True, "server_time": time.time_ns()}


@method("create_chronicle", ChronicleIn, need=AUTHENTICATED)
async def create_chronicle(ctx: CallContext, params: ChronicleIn) -> ChronicleOut:
    created = await catalog.create_chronicle(
        ctx.pool, params.name, params.attributes, owner_id=ctx.caller.principal_id
    )
    ctx.authenticator.forget()  # the creator is its admin now
    return ChronicleOut.of(created)


@method("get_chronicle", ChronicleRef, need=READ, chronicle_param="name")
async def get_chronicle(ctx: CallContext, params: ChronicleRef) -> ChronicleOut:
    return ChronicleOut.of(await catalog.get_chronicle(ctx.pool, params.name))


@method("list_chronicles", ChronicleListParams, need=AUTHENTICATED)
async def list_chronicles(ctx: CallContext, params: ChronicleListParams) -> ChroniclePage:
    caller = await ctx.authenticator.refreshed(ctx.caller)
    page = await catalog.list_chronicles(
        ctx.pool, params.after, params.limit, caller.chronicle_filter
    )
    return ChroniclePage(items=[ChronicleOut.of(c) for c in page.items], next=page.next)


@method("delete_chronicle", ChronicleRef, need=ADMIN, chronicle_param="name")
async def delete_chronicle(ctx: CallContext, params: ChronicleRef) -> dict[str, Any]:
    await deletion.delete_chronicle(ctx.pool, params.name)
    ctx.authenticator.forget()  # its grants went with it
    return {"deleted": True}


@method("acquire_stream", AcquireParams, need=WRITE)
async def acquire_stream(ctx: CallContext, params: AcquireParams) -> AcquireOut:
    found, created = await catalog.acquire_stream(
        ctx.pool, params.chronicle, params.stream, params.attributes
    )
    return AcquireOut(stream=StreamOut.of(found), created=created)


@method("get_stream", StreamRef, need=READ)
async def get_stream(ctx: CallContext, params: StreamRef) -> StreamOut:
    return StreamOut.of(await catalog.get_stream(ctx.pool, params.chronicle, params.stream))


@method("list_streams", StreamListParams, need=READ)
async def list_streams(ctx: CallContext, params: StreamListParams) -> StreamPage:
    page = await catalog.list_streams(ctx.pool, params.chronicle, params.after, params.limit)
    return StreamPage(items=[StreamOut.of(s) for s in page.items], next=page.next)


@method("delete_stream", DeleteStreamParams, need=ADMIN)
async def delete_stream(ctx: CallContext, params: DeleteStreamParams) -> dict[str, Any]:
    await deletion.delete_stream(ctx.pool, params.chronicle, params.stream, params.mode)
    return {"deleted": True, "mode": params.mode.value}


@method("get_stream_metadata", StreamRef, need=READ)
async def get_stream_metadata(ctx: CallContext, params: StreamRef) -> StreamMetadata:
    return StreamMetadata.of(await catalog.get_retention(ctx.pool, params.chronicle, params.stream))


@method("set_stream_metadata", SetStreamMetadataParams, need=ADMIN)
async def set_stream_metadata(ctx: CallContext, params: SetStreamMetadataParams) -> StreamMetadata:
    retention = await catalog.set_retention(
        ctx.pool, params.chronicle, params.stream, params.to_retention()
    )
    return StreamMetadata.of(retention)
