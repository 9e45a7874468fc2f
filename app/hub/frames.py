"""The WebSocket frames: JSON objects with a ``type``; call frames carry the client's ``id``."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter

CallId = Annotated[
    StrictStr | StrictInt, Field(description="Chosen by the client, unique per open call")
]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


# client -> server


class CallFrame(_Frame):
    """Open a call: ``method`` with ``params``."""

    type: Literal["call"]
    id: CallId
    method: str
    params: dict[str, Any] = Field(default_factory=dict)


class SendFrame(_Frame):
    """One more request on an open call (an event for append, {"stop": true} for subscribe)."""

    type: Literal["send"]
    id: CallId
    data: Any = None


class EndFrame(_Frame):
    """The client has finished sending on a call."""

    type: Literal["end"]
    id: CallId


class CancelFrame(_Frame):
    """Abandon a call; the server answers ack, then end with {"cancelled": true}."""

    type: Literal["cancel"]
    id: CallId


class PingFrame(_Frame):
    """Answered at once by a pong carrying the same ``data``."""

    type: Literal["ping"]
    data: Any = None


class PongFrame(_Frame):
    """The answer to a server ping."""

    type: Literal["pong"]
    data: Any = None


class AuthFrame(_Frame):
    """Credentials, for clients that cannot send an ``Authorization`` header at the
    handshake (browsers): an API key, or a username and password. The first frame of an
    unauthenticated connection; answered by ack (``of`` "auth") or error, then close 4401."""

    type: Literal["auth"]
    id: CallId | None = None
    key: str | None = None
    username: str | None = None
    password: str | None = Field(default=None, repr=False)


ClientFrame = Annotated[
    CallFrame | SendFrame | EndFrame | CancelFrame | PingFrame | PongFrame | AuthFrame,
    Field(discriminator="type"),
]
client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)

CLIENT_FRAME_TYPES = ("call", "send", "end", "cancel", "ping", "pong", "auth")


# server -> client


class ErrorBody(BaseModel):
    code: str = Field(examples=["wrong_expected_version"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class DataFrame(_Frame):
    """One response on a streaming call."""

    type: Literal["data"] = "data"
    id: CallId
    data: Any


class ResultFrame(_Frame):
    """The call finished; ``result`` for unary and client-streaming calls."""

    type: Literal["end"] = "end"
    id: CallId
    result: Any = None


class ErrorFrame(_Frame):
    """The call (or, with id null, the frame) failed; a failed call is finished."""

    type: Literal["error"] = "error"
    id: CallId | None
    error: ErrorBody


class AckFrame(_Frame):
    """A send, end, cancel or auth frame was accepted; ``of`` names which. For auth,
    ``principal`` is who the connection now acts as (``id`` as the auth frame had it)."""

    type: Literal["ack"] = "ack"
    id: CallId | None
    of: Literal["send", "end", "cancel", "auth"]
    principal: str | None = None


class ServerPingFrame(_Frame):
    """Keep-alive: answer with a pong within the pong timeout or be disconnected."""

    type: Literal["ping"] = "ping"
    data: Any = None


class ServerPongFrame(_Frame):
    type: Literal["pong"] = "pong"
    data: Any = None


ServerFrame = Annotated[
    DataFrame | ResultFrame | ErrorFrame | AckFrame | ServerPingFrame | ServerPongFrame,
    Field(discriminator="type"),
]


def error_frame(call_id: Any, code: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "type": "error",
        "id": call_id,
        "error": {"code": code, "message": message, "details": details},
    }
