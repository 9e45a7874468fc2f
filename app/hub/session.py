"""One WebSocket connection: parses frames, runs its calls, keeps it alive, writes replies."""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.domain.access import ANONYMOUS_ADMIN, Caller
from app.domain.credentials import Credentials, KeyCredentials, PasswordCredentials
from app.errors import ChronicleError, UnauthenticatedError, error_body
from app.hub import close_codes
from app.hub.calls import END_OF_INPUT, METHODS, CallContext, Method
from app.hub.coalescing import SEND_TEXT_NOW, SEND_TEXTS_NOW, WAIT_WRITABLE
from app.hub.frames import (
    CLIENT_FRAME_TYPES,
    AuthFrame,
    CallFrame,
    CancelFrame,
    EndFrame,
    PingFrame,
    PongFrame,
    SendFrame,
    client_frame,
    error_frame,
)
from app.hub.metrics import WS_CALLS, WS_CLOSES
from app.hub.outbox import Outbox, OutboxOverflowError

if TYPE_CHECKING:
    from app.hub.hub import Hub

log = structlog.get_logger(__name__)


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot encode {type(value).__name__}")


_CLOSE_AFTER: Any = object()
"""The type of an outbox entry that tells the sender to close the socket there."""


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame, default=_default).decode()


async def _not_writable() -> bool:
    return False


class _Call:
    def __init__(self, method: Method, ctx: CallContext) -> None:
        self.method = method
        self.ctx = ctx
        self.task: asyncio.Task[None] | None = None
        self.cancelled = False


class Session:
    """Lives as long as its WebSocket. Every queue a client can fill here is bounded."""

    def __init__(self, websocket: WebSocket, hub: "Hub") -> None:
        self.websocket = websocket
        self.hub = hub
        settings = hub.settings
        self.outbox = Outbox(settings.ws_send_queue_size, settings.ws_control_queue_size)
        self.calls: dict[Any, _Call] = {}
        self._ponged = asyncio.Event()
        self._closed = False
        self.caller: Caller | None = None
        """Who the connection acts as; None until it authenticates."""
        self._authenticated = asyncio.Event()
        self.frames_sent = 0
        self.opened_at = time.monotonic()
        # Writes a frame without a coroutine when the server offers it (hub/coalescing.py);
        # used only while no frame is queued or being sent, so frames keep their order.
        extensions = websocket.scope.get("extensions", {})
        send_now = extensions.get(SEND_TEXT_NOW)
        self._send_now: Callable[[str], bool] = send_now or (lambda _: False)
        send_texts_now = extensions.get(SEND_TEXTS_NOW)
        self._send_texts_now: Callable[[list[str]], bool] = send_texts_now or (lambda _: False)
        self._wait_writable: Callable[[], Awaitable[bool]] = (
            extensions.get(WAIT_WRITABLE) or _not_writable
        )
        self._sending = False
        self.waiting_for_socket = False

    # lifecycle

    async def run(self) -> None:
        await self.websocket.accept()
        if not await self._authenticate_handshake():
            return
        tasks = [
            asyncio.create_task(self._receive_loop()),
            asyncio.create_task(self._send_loop()),
            asyncio.create_task(self._keepalive()),
            asyncio.create_task(self._auth_deadline()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("ws_session_failed", exc_info=task.exception())
                    await self.close(close_codes.INTERNAL_ERROR, "internal error")
        finally:
            self._closed = True
            pending = [c.task for c in self.calls.values() if c.task is not None]
            for task in [*tasks, *pending]:
                task.cancel()
            await asyncio.gather(*tasks, *pending, return_exceptions=True)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket; ``run`` then finishes as the receive loop sees the disconnect."""
        if self._closed:
            return
        self._closed = True
        WS_CLOSES.labels(code=str(code)).inc()
        log.info("ws_close", code=code, reason=reason)
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason[:123])  # close reasons fit in 123 bytes

    async def shutdown(self, reason: str, grace: float) -> None:
        """End every open call that can end (subscriptions) with ``reason``, let those ``end``
        frames reach the client for up to ``grace`` seconds, then close 1001."""
        for call in list(self.calls.values()):
            call.ctx.shutting_down.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                while self.calls or self.outbox.depth:
                    await asyncio.sleep(0.01)
        await self.close(close_codes.GOING_AWAY, reason)

    # authentication

    async def _authenticate_handshake(self) -> bool:
        """Authenticate from the handshake's ``Authorization`` header, if it has one
        (else an auth frame must come first); False if the connection was closed."""
        authenticator = self.hub.authenticator
        if not authenticator.enabled:
            return await self._admit(ANONYMOUS_ADMIN)
        header = self.websocket.headers.get("authorization")
        if header is None:
            return True
        try:
            caller = await authenticator.authenticate_header(header)
        except UnauthenticatedError as error:
            await self.close(close_codes.UNAUTHENTICATED, error.detail)
            return False
        return await self._admit(caller)

    async def _admit(self, caller: Caller) -> bool:
        """Let ``caller`` in unless it holds its cap of connections (then close 4429)."""
        if not self.hub.admit(self, caller):
            limit = self.hub.settings.ws_max_connections_per_principal
            await self.close(
                close_codes.TOO_MANY_CONNECTIONS,
                f"{caller.principal} has {limit} connections open already "
                "(CHRONICLE_WS_MAX_CONNECTIONS_PER_PRINCIPAL): close one first",
            )
            return False
        self.caller = caller
        self._authenticated.set()
        structlog.contextvars.bind_contextvars(principal=caller.principal)
        return True

    async def _auth_deadline(self) -> None:
        timeout = self.hub.settings.ws_auth_timeout
        try:
            async with asyncio.timeout(timeout):
                await self._authenticated.wait()
        except TimeoutError:
            await self.close(
                close_codes.UNAUTHENTICATED,
                f"no credentials within {timeout:g}s: send an auth frame first",
            )
            return
        await asyncio.Event().wait()  # authenticated: nothing more to watch

    async def _authenticate_frame(self, frame: AuthFrame) -> None:
        if self.caller is not None:
            if not self.hub.authenticator.enabled:
                self._reply({"type": "ack", "id": frame.id, "of": "auth", "principal": None})
                return
            self._reply(
                error_frame(
                    frame.id,
                    "invalid_frame",
                    f"this connection acts as {self.caller.principal} already; "
                    "open another connection to use other credentials",
                    frame="auth",
                )
            )
            return
        credentials: Credentials
        if frame.key is not None:
            credentials = KeyCredentials(frame.key)
        elif frame.username is not None and frame.password is not None:
            credentials = PasswordCredentials(frame.username, frame.password)
        else:
            self._reply(
                error_frame(
                    frame.id,
                    "invalid_frame",
                    "an auth frame carries a key, or a username and a password",
                    frame="auth",
                )
            )
            return
        try:
            caller = await self.hub.authenticator.authenticate(credentials)
        except UnauthenticatedError as error:
            self._reply({"type": "error", "id": frame.id, "error": error_body(error)})
            self._close_after_replies(close_codes.UNAUTHENTICATED, error.detail)
            return
        if await self._admit(caller):
            self._reply(
                {"type": "ack", "id": frame.id, "of": "auth", "principal": caller.principal}
            )

    def _close_after_replies(self, code: int, reason: str) -> None:
        """Close once the replies queued so far are written (they are sent in order)."""
        self.outbox.put_reply({"type": _CLOSE_AFTER, "code": code, "reason": reason})

    # loops

    async def _send_loop(self) -> None:
        while True:
            frame = await self.outbox.get()
            if frame["type"] is _CLOSE_AFTER:
                await self.close(frame["code"], frame["reason"])
                return
            text = encode(frame)
            if not self._send_now(text):
                self._sending = True
                try:
                    await self.websocket.send_text(text)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    return
                finally:
                    self._sending = False
            self.frames_sent += 1

    def _offer(self, frame: dict[str, Any]) -> bool:
        """Send a call frame now if nothing is ahead of it, else queue it if there is room."""
        if not self._sending and self.outbox.empty and self._send_now(encode(frame)):
            self.frames_sent += 1
            return True
        return self.outbox.offer(frame)

    async def _write_data(self, call_id: Any, texts: list[str], around: tuple[str, str]) -> bool:
        """Write ``data`` frames of ``call_id`` at once, one per text (the data is the text
        between ``around``'s two strings), if nothing is queued or being sent; when only the
        socket is backed up, after it drains. False (nothing written) otherwise."""
        if not texts:
            return True
        before = f'{{"type":"data","id":{orjson.dumps(call_id).decode()},"data":{around[0]}'
        after = around[1] + "}"
        frames = [f"{before}{text}{after}" for text in texts]
        for attempt in range(2):
            if self._sending or not self.outbox.empty:
                return False
            if self._send_texts_now(frames):
                self.frames_sent += len(frames)
                return True
            # Nothing ahead of them: the socket is full (or closed). Frames queued while
            # this waits are checked for again, so none is overtaken.
            if attempt == 0:
                self.waiting_for_socket = True
                try:
                    if not await self._wait_writable():
                        return False
                finally:
                    self.waiting_for_socket = False
        return False

    async def _keepalive(self) -> None:
        settings = self.hub.settings
        sequence = 0
        while True:
            await asyncio.sleep(settings.ws_ping_interval)  # the schedule, not a condition
            sequence += 1
            self._ponged.clear()
            try:
                self.outbox.put_reply({"type": "ping", "data": sequence})
            except OutboxOverflowError as error:
                await self.close(close_codes.POLICY_VIOLATION, f"client is not reading: {error}")
                return
            try:
                async with asyncio.timeout(settings.ws_pong_timeout):
                    await self._ponged.wait()
            except TimeoutError:
                await self.close(
                    close_codes.PONG_TIMEOUT,
                    f"no pong within {settings.ws_pong_timeout:g}s of a ping",
                )
                return

    async def _receive_loop(self) -> None:
        limit = self.hub.settings.ws_max_frame_bytes
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await self.close(
                    close_codes.UNSUPPORTED_DATA, "binary frames are not supported: send JSON text"
                )
                return
            if len(text) > limit:  # characters >= bytes/4; checked on bytes below
                size = len(text.encode())
                if size > limit:
                    await self.close(
                        close_codes.MESSAGE_TOO_BIG, f"frame of {size} bytes; the limit is {limit}"
                    )
                    return
            try:
                raw = orjson.loads(text)
            except orjson.JSONDecodeError as error:
                await self.close(close_codes.INVALID_PAYLOAD, f"frame is not JSON: {error}"[:120])
                return
            try:
                await self._handle(raw)
            except OutboxOverflowError as error:
                await self.close(close_codes.POLICY_VIOLATION, f"client is not reading: {error}")
                return

    # frames

    def _reply(self, frame: dict[str, Any]) -> None:
        self.outbox.put_reply(frame)

    async def _handle(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            self._reply(error_frame(None, "invalid_frame", "a frame is a JSON object", frame=None))
            return
        call_id = raw.get("id")
        if raw.get("type") not in CLIENT_FRAME_TYPES:
            self._reply(
                error_frame(
                    call_id,
                    "unknown_frame_type",
                    f"unknown frame type {raw.get('type')!r}: use one of "
                    + ", ".join(CLIENT_FRAME_TYPES),
                    frame=raw.get("type"),
                )
            )
            return
        try:
            frame = client_frame.validate_python(raw)
        except ValidationError as error:
            errors = error.errors(include_url=False, include_context=False, include_input=False)
            first = errors[0]
            where = ".".join(str(p) for p in first["loc"][1:])
            self._reply(
                error_frame(
                    call_id if isinstance(call_id, str | int) else None,
                    "invalid_frame",
                    f"invalid {raw['type']} frame: {where}: {first['msg']}",
                    errors=errors,
                    frame=raw["type"],
                )
            )
            return
        if self.caller is None and not isinstance(frame, AuthFrame | PingFrame | PongFrame):
            self._reply(
                error_frame(
                    getattr(frame, "id", None),
                    "unauthenticated",
                    'authenticate first: send {"type": "auth", "key": "<API key>"} '
                    "(or username and password), or an Authorization header with the handshake",
                    frame=raw["type"],
                )
            )
            return
        match frame:
            case AuthFrame():
                await self._authenticate_frame(frame)
            case CallFrame():
                self._open_call(frame)
            case SendFrame():
                call = self._known(frame.id, "send")
                if call is None:
                    return
                if not call.method.accepts_sends:
                    self._reply(
                        error_frame(
                            frame.id,
                            "send_not_accepted",
                            f"{call.method.name} is a {call.method.kind} call: it takes no send",
                            frame="send",
                        )
                    )
                    return
                # Bounded; a handler drains its inbox promptly, so this rarely waits.
                await call.ctx.inbox.put(frame.data)
                self._reply({"type": "ack", "id": frame.id, "of": "send"})
            case EndFrame():
                call = self._known(frame.id, "end")
                if call is None:
                    return
                if call.method.accepts_sends:
                    await call.ctx.inbox.put(END_OF_INPUT)
                self._reply({"type": "ack", "id": frame.id, "of": "end"})
            case CancelFrame():
                call = self._known(frame.id, "cancel")
                if call is None:
                    return
                self._reply({"type": "ack", "id": frame.id, "of": "cancel"})
                call.cancelled = True
                if call.task is not None:
                    call.task.cancel()
            case PingFrame():
                self._reply({"type": "pong", "data": frame.data})
            case PongFrame():
                self._ponged.set()

    def _known(self, call_id: Any, what: str) -> _Call | None:
        call = self.calls.get(call_id)
        if call is None:
            self._reply(
                error_frame(
                    call_id,
                    "unknown_call",
                    f"{what} for call {call_id!r}, which is not open",
                    frame=what,
                )
            )
        return call

    def _open_call(self, frame: CallFrame) -> None:
        if frame.id in self.calls:
            self._reply(
                error_frame(
                    frame.id,
                    "duplicate_call_id",
                    f"call id {frame.id!r} is already open; choose a fresh id per call",
                    frame="call",
                )
            )
            return
        method = METHODS.get(frame.method)
        if method is None:
            self._reply(
                error_frame(
                    frame.id,
                    "unknown_method",
                    f"unknown method {frame.method!r}",
                    methods=sorted(METHODS),
                )
            )
            return
        refused = self._over_limit(method)
        if refused is not None:
            self._reply(error_frame(frame.id, "too_many", refused))
            return

        async def emit(data: Any) -> None:
            await self.outbox.put({"type": "data", "id": frame.id, "data": data})

        def reject(error: ChronicleError) -> None:
            body = error_body(error)
            body["details"] = {**body["details"], "frame": "send"}
            self._reply({"type": "error", "id": frame.id, "error": body})

        assert self.caller is not None

        def offer(data: Any) -> bool:
            return self._offer({"type": "data", "id": frame.id, "data": data})

        async def write_data(texts: list[str], around: tuple[str, str]) -> bool:
            return await self._write_data(frame.id, texts, around)

        ctx = CallContext(
            call_id=frame.id,
            caller=self.caller,
            authenticator=self.hub.authenticator,
            pool=self.hub.pool,
            appender=self.hub.appender,
            settings=self.hub.settings,
            listener=self.hub.listener,
            fanout=self.hub.fanout,
            emit=emit,
            offer=offer,
            write_data=write_data,
            stats=self.hub.stats,
            reject=reject,
        )
        call = _Call(method, ctx)
        self.calls[frame.id] = call
        call.task = asyncio.create_task(self._run_call(frame.id, call, frame.params))

    def _over_limit(self, method: Method) -> str | None:
        """Why one more call of ``method`` may not open now, or None."""
        settings = self.hub.settings
        if len(self.calls) >= settings.ws_max_calls:
            return (
                f"{settings.ws_max_calls} calls are open on this connection "
                "(CHRONICLE_WS_MAX_CALLS): wait for one to end"
            )
        if method.kind == "bidirectional":
            open_ = sum(1 for c in self.calls.values() if c.method.kind == "bidirectional")
            if open_ >= settings.ws_max_subscriptions:
                return (
                    f"{settings.ws_max_subscriptions} subscriptions are open on this "
                    "connection (CHRONICLE_WS_MAX_SUBSCRIPTIONS): stop one first"
                )
        return None

    async def _run_call(self, call_id: Any, call: _Call, raw_params: dict[str, Any]) -> None:
        method = call.method
        try:
            # Authorized on the chronicle as sent, before the params are validated (as REST
            # does with the raw path): a caller without access learns nothing about them.
            # A missing or malformed chronicle passes here only to fail validation, or,
            # where it is optional, to read just what the caller may read.
            named = raw_params.get(method.chronicle_param)
            call.ctx.caller = await self.hub.authenticator.authorize(
                call.ctx.caller, method.need, named if isinstance(named, str) else None
            )
            params = method.params.model_validate(raw_params)
            result = await call.method.handler(call.ctx, params)
            frame: dict[str, Any] = {"type": "end", "id": call_id, "result": result}
        except asyncio.CancelledError:
            if self._closed or not call.cancelled:
                raise
            frame = {"type": "end", "id": call_id, "result": {"cancelled": True}}
        except ChronicleError as error:
            frame = {"type": "error", "id": call_id, "error": error_body(error)}
        except ValidationError as error:
            frame = _validation_error(call_id, error)
        except Exception:
            log.exception("ws_call_failed", method=call.method.name)
            frame = error_frame(call_id, "internal_error", "the server failed on this call")
        finally:
            self.calls.pop(call_id, None)
        outcome = frame["type"] if frame["type"] == "error" else "ok"
        WS_CALLS.labels(method=call.method.name, outcome=outcome).inc()
        await self.outbox.put(frame)


def _validation_error(call_id: Any, error: ValidationError) -> dict[str, Any]:
    errors = error.errors(include_url=False, include_context=False, include_input=False)
    summary = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}" for e in errors[:5]
    )
    return error_frame(call_id, "validation_error", f"invalid params: {summary}", errors=errors)
