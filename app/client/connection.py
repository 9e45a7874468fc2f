"""An async client for the hub: one WebSocket, many concurrent calls."""

import asyncio
import base64
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.client.persistent import PersistentSubscription, connect_subscription


class CallError(Exception):
    """The server answered a call with an ``error`` frame; ``code`` is the REST code too."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class ConnectionLostError(CallError):
    def __init__(self, reason: str) -> None:
        super().__init__("connection_lost", reason)


Handler = Callable[..., Any]


class Call:
    """A streaming call (the Volt feel): ``on("data"|"error"|"end")`` handlers, ``send``,
    ``end``, ``cancel``; or ``async for data in call`` and ``await call.result()``."""

    def __init__(self, connection: "Connection", call_id: str, method: str) -> None:
        self.id = call_id
        self.method = method
        self._connection = connection
        self._handlers: dict[str, list[Handler]] = {"data": [], "error": [], "end": []}
        self._data: asyncio.Queue[Any] = asyncio.Queue()
        self._done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks = 0

    def on(self, event: str, handler: Handler | None = None) -> Any:
        """Register a handler; usable as ``@call.on("data")``."""
        if event not in self._handlers:
            raise ValueError(f"unknown call event {event!r}: use data, error or end")

        def register(fn: Handler) -> Handler:
            self._handlers[event].append(fn)
            return fn

        return register(handler) if handler is not None else register

    async def send(self, data: Any) -> None:
        await self._connection._write({"type": "send", "id": self.id, "data": data})

    async def end(self) -> None:
        await self._connection._write({"type": "end", "id": self.id})

    async def cancel(self) -> None:
        await self._connection._write({"type": "cancel", "id": self.id})

    async def result(self) -> Any:
        """The ``end`` result; raises CallError on an ``error`` frame."""
        return await asyncio.shield(self._done)

    @property
    def done(self) -> bool:
        return self._done.done()

    async def __aiter__(self) -> AsyncIterator[Any]:
        """Data frames until the call ends (an error is raised)."""
        while True:
            getter = asyncio.ensure_future(self._data.get())
            await asyncio.wait({getter, self._done}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
                continue
            getter.cancel()
            while not self._data.empty():
                yield self._data.get_nowait()
            await self.result()
            return

    def _emit(self, event: str, *args: Any) -> None:
        for handler in self._handlers[event]:
            handler(*args)

    def _on_data(self, data: Any) -> None:
        self._data.put_nowait(data)
        self._emit("data", data)

    def _on_end(self, result: Any) -> None:
        if not self._done.done():
            self._done.set_result(result)
        self._emit("end", result)

    def _on_error(self, error: CallError) -> None:
        if not self._done.done():
            self._done.set_exception(error)
            self._done.exception()  # retrieved: a handler-only user need not await result()
        self._emit("error", error)


class Subscription:
    """Events of a subscription as an async iterator (the photonpump feel)."""

    def __init__(self) -> None:
        self.call: Call
        self.start: dict[str, Any] = {}
        self.caught_up = asyncio.Event()
        """Set once the server has delivered the history (the rest is live)."""

    def _on_data(self, data: Any) -> None:
        if data.get("kind") == "caught_up":
            self.caught_up.set()

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for data in self.call:
            if data.get("kind") == "event":
                yield data["event"]

    async def stop(self) -> Any:
        """Ask the server to end it; returns the end result (reason, next)."""
        if not self.call.done:
            with contextlib.suppress(ConnectionClosed):
                await self.call.send({"stop": True})
        return await self.call.result()


class Connection:
    """``async with Connection("ws://host:port/ws", api_key=key) as c: await c.ping()``.

    Credentials (photonpump's username and password, or an API key) go in the handshake's
    ``Authorization`` header. Answers the server's keep-alive pings by itself
    (``answer_pings=False`` to test that the server drops a silent client)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        answer_pings: bool = True,
    ) -> None:
        self.url = url
        self.answer_pings = answer_pings
        self._headers: dict[str, str] = {}
        if api_key is not None:
            self._headers["Authorization"] = f"Bearer {api_key}"
        elif username is not None and password is not None:
            basic = base64.b64encode(f"{username}:{password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {basic}"
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._calls: dict[str, Call] = {}
        self._pings: dict[int, asyncio.Future[None]] = {}
        self._ids = itertools.count(1)
        self._background: set[asyncio.Future[None]] = set()
        self.errors: list[CallError] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None

    async def __aenter__(self) -> "Connection":
        await self.connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def connect(self) -> None:
        self._ws = await connect(self.url, max_size=None, additional_headers=self._headers)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def wait_closed(self) -> None:
        """Until the server (or we) closed the connection."""
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    # calls

    async def start(
        self, method: str, params: dict[str, Any] | None = None, on_data: Handler | None = None
    ) -> Call:
        """Open any call; returns its Call object at once. ``on_data`` is registered before
        the call is sent, so it sees every data frame."""
        call_id = f"c{next(self._ids)}"
        call = Call(self, call_id, method)
        if on_data is not None:
            call.on("data", on_data)
        self._calls[call_id] = call
        await self._write({"type": "call", "id": call_id, "method": method, "params": params or {}})
        return call

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """A unary call: its result, or CallError."""
        return await (await self.start(method, params)).result()

    async def ping(self) -> float:
        """Round-trip time in seconds of a ping frame."""
        nonce = next(self._ids)
        answered = asyncio.get_running_loop().create_future()
        self._pings[nonce] = answered
        began = time.perf_counter()
        await self._write({"type": "ping", "data": nonce})
        await answered
        return time.perf_counter() - began

    async def publish_event(
        self,
        chronicle: str,
        stream: str,
        type: str,
        body: Any = None,
        *,
        expected_version: str | int = "any",
        event_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Publish one event; returns the PublishOut (versions, positions, duplicate)."""
        event: dict[str, Any] = {"type": type, "data": body, **fields}
        if event_id is not None:
            event["event_id"] = str(event_id)
        if metadata is not None:
            event["metadata"] = metadata
        result: dict[str, Any] = await self.call(
            "publish",
            {
                "chronicle": chronicle,
                "stream": stream,
                "events": [event],
                "expected_version": expected_version,
            },
        )
        return result

    async def get_event(self, chronicle: str, stream: str, version: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            "get_event", {"chronicle": chronicle, "stream": stream, "version": version}
        )
        return result

    async def subscribe_to(
        self,
        chronicle: str | None = None,
        stream: str | None = None,
        start_from: Any = "start",
        types: list[str] | None = None,
    ) -> Subscription:
        """Catch-up then live: returns once the server confirmed the subscription.
        No chronicle: everything; no stream: the whole chronicle; ``types``: patterns."""
        params: dict[str, Any] = {"start": start_from}
        if types is not None:
            params["types"] = types
        if chronicle is not None:
            params["chronicle"] = chronicle
        if stream is not None:
            params["stream"] = stream
        subscription = Subscription()
        subscription.call = await self.start("subscribe", params, on_data=subscription._on_data)
        subscription.start = await anext(aiter(subscription.call))
        return subscription

    async def connect_subscription(
        self, group: str, chronicle: str | None = None, max_in_flight: int | None = None
    ) -> "PersistentSubscription":
        """Join a persistent subscription (consumer group); see app.client.persistent."""
        return await connect_subscription(self, group, chronicle, max_in_flight)

    # wire

    async def _write(self, frame: dict[str, Any]) -> None:
        if self._ws is None:
            raise ConnectionLostError("not connected")
        await self._ws.send(orjson.dumps(frame).decode())

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                self._dispatch(orjson.loads(message))
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self._ws.close_code
            self.close_reason = self._ws.close_reason
            lost = ConnectionLostError(f"closed {self.close_code}: {self.close_reason}")
            for call in self._calls.values():
                call._on_error(lost)
            for answered in self._pings.values():
                if not answered.done():
                    answered.set_exception(lost)
                    answered.exception()

    def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        call = self._calls.get(frame.get("id"))  # type: ignore[arg-type]
        if kind == "ping":
            if self.answer_pings:
                pong = asyncio.ensure_future(
                    self._write({"type": "pong", "data": frame.get("data")})
                )
                # Held until done: the loop keeps only weak references to tasks.
                self._background.add(pong)
                pong.add_done_callback(self._background.discard)
        elif kind == "pong":
            answered = self._pings.pop(frame.get("data"), None)  # type: ignore[arg-type]
            if answered is not None and not answered.done():
                answered.set_result(None)
        elif kind == "ack" and call is not None:
            call.acks += 1
        elif kind == "data" and call is not None:
            call._on_data(frame.get("data"))
        elif kind == "end" and call is not None:
            self._calls.pop(call.id, None)
            call._on_end(frame.get("result"))
        elif kind == "error":
            body = frame.get("error") or {}
            error = CallError(
                body.get("code", "error"), body.get("message", ""), body.get("details")
            )
            # An error about one frame (details.frame) leaves its call open.
            if call is not None and "frame" not in error.details:
                self._calls.pop(call.id, None)
                call._on_error(error)
            else:
                self.errors.append(error)
