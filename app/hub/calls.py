"""What a hub method sees of its call: params, an inbox of ``send`` frames, a way to emit data."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import BaseModel

from app.auth.authenticator import Authenticator
from app.config import Settings
from app.domain.access import Caller, Need
from app.domain.limits import PublishLimits
from app.errors import ChronicleError
from app.hub.fanout import Fanout
from app.storage.group_commit import GroupCommitter
from app.storage.notifications import Listener

END_OF_INPUT: Any = object()
"""What ``CallContext.receive`` returns once the client sent ``end``."""


async def _refused(texts: list[str], around: tuple[str, str]) -> bool:
    return False


@dataclass
class CallContext:
    """Per call. ``emit`` waits while the connection's send queue is full: that is the
    backpressure that keeps a slow client's memory bounded."""

    call_id: Any
    caller: Caller
    authenticator: Authenticator
    pool: asyncpg.Pool
    appender: GroupCommitter
    settings: Settings
    listener: Listener
    fanout: Fanout
    emit: Callable[[Any], Awaitable[None]]
    offer: Callable[[Any], bool] = lambda _: False
    """``emit`` if there is room now, without waiting; False (nothing sent) otherwise."""
    write_data: Callable[[list[str], tuple[str, str]], Awaitable[bool]] = _refused
    """``emit`` for many data values at once, already serialized: each text between
    ``around``'s two strings is one JSON value. All written together when nothing of the
    connection is queued (after waiting for the socket to drain if need be), or nothing
    (False): then ``emit`` them one by one."""
    stats: Callable[[], dict[str, Any]] = dict
    inbox: asyncio.Queue[Any] = field(default_factory=lambda: asyncio.Queue(maxsize=64))
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)
    reject: Callable[[ChronicleError], None] = lambda error: None
    """Refuse one ``send`` with an ``error`` frame (``details.frame`` "send"); the call stays
    open."""

    async def receive(self) -> Any:
        """The ``data`` of the next ``send`` frame, or END_OF_INPUT after ``end``."""
        return await self.inbox.get()

    @property
    def limits(self) -> PublishLimits:
        return PublishLimits(
            max_event_bytes=self.settings.max_event_bytes,
            max_events_per_publish=self.settings.max_events_per_publish,
        )


Handler = Callable[[CallContext, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Method:
    """A hub method. ``accepts_sends``: client- or bidirectional streaming. ``need`` is
    authorized on the chronicle named by the params field ``chronicle_param`` before the
    handler runs (the same rule as the REST routes)."""

    name: str
    params: type[BaseModel]
    handler: Handler
    kind: str
    need: Need
    chronicle_param: str
    accepts_sends: bool = False


METHODS: dict[str, Method] = {}


def method(
    name: str,
    params: type[BaseModel],
    kind: str = "unary",
    accepts_sends: bool = False,
    *,
    need: Need,
    chronicle_param: str = "chronicle",
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the hub method ``name``; its return value is the end result.
    ``need`` is required: no method is registered without saying who may call it."""

    def register(handler: Handler) -> Handler:
        METHODS[name] = Method(name, params, handler, kind, need, chronicle_param, accepts_sends)
        return handler

    return register
