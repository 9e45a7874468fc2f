"""The hub protocol as an AsyncAPI 3.0 document, generated from the frame and params models.

Regenerate with ``python -m app.hub.asyncapi > openapi/asyncapi.json``; a test checks drift.
"""

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app import __version__
from app.hub import frames
from app.hub.calls import METHODS
from app.hub.hub import Hub  # noqa: F401  (registers the methods)

_REF = "#/components/schemas/{model}"

CLIENT_MESSAGES: dict[str, type[BaseModel]] = {
    "call": frames.CallFrame,
    "send": frames.SendFrame,
    "end": frames.EndFrame,
    "cancel": frames.CancelFrame,
    "clientPing": frames.PingFrame,
    "clientPong": frames.PongFrame,
    "auth": frames.AuthFrame,
}
SERVER_MESSAGES: dict[str, type[BaseModel]] = {
    "data": frames.DataFrame,
    "result": frames.ResultFrame,
    "error": frames.ErrorFrame,
    "ack": frames.AckFrame,
    "serverPing": frames.ServerPingFrame,
    "serverPong": frames.ServerPongFrame,
}

DESCRIPTION = """\
One WebSocket at `/ws` carries many concurrent calls. Every frame is a JSON text object
with a `type`; frames of a call carry the client-chosen `id` (string or integer).

A call finishes with exactly one `end` (with `result`) or `error`. Streaming calls emit
`data` frames first. `send`, `end` and `cancel` are acknowledged with `ack` (`of` names
which); a cancelled call then ends with `{"cancelled": true}`. An `error` whose
`details.frame` is set concerns one frame only and leaves the call open.

Authentication: send `Authorization: Bearer <API key>` (or HTTP Basic) with the
handshake, or, where headers cannot be set (browsers), make the first frame
`{"type":"auth","key":"chr_..."}` (or `"username"` and `"password"`); it is answered by
`{"type":"ack","of":"auth","principal":...}`. Until then every other frame but ping and
pong gets an `unauthenticated` error; wrong credentials close with 4401, and so does
silence for `CHRONICLE_WS_AUTH_TIMEOUT` seconds. Each call needs the role its method
names under `x-methods` (`needs`) on the chronicle its params name (`forbidden` error
otherwise); subscriptions and reads of everything only carry readable chronicles.

Limits: `CHRONICLE_WS_MAX_CALLS` open calls and `CHRONICLE_WS_MAX_SUBSCRIPTIONS`
subscriptions per connection (a `too_many` error for the next), and
`CHRONICLE_WS_MAX_CONNECTIONS_PER_PRINCIPAL` connections per principal (close 4429).

Keep-alive: the server sends `ping` every `CHRONICLE_WS_PING_INTERVAL` seconds and closes
with 4408 when no `pong` arrives within `CHRONICLE_WS_PONG_TIMEOUT`. A client `ping` gets a
`pong` with the same `data` at once.

Close codes: 1001 server shutting down (subscriptions first end with reason "shutdown"),
1003 binary frame, 1007 not JSON, 1008 client stopped reading, 1009 frame too large,
4401 not authenticated, 4408 no pong, 4429 too many connections for the principal.

Methods and their params are listed under `x-methods`; error codes are the REST codes.

Example session (-> client, <- server):
-> {"type":"call","id":"1","method":"subscribe",
    "params":{"chronicle":"lab","stream":"t","start":"start"}}
<- {"type":"data","id":"1","data":{"kind":"subscribed","scope":"stream","from":0}}
<- {"type":"data","id":"1","data":{"kind":"caught_up","next":0}}
-> {"type":"call","id":"2","method":"publish",
    "params":{"chronicle":"lab","stream":"t","events":[{"type":"temp","data":21.5}]}}
<- {"type":"end","id":"2","result":{"chronicle":"lab","stream":"t","stream_version":0,...}}
<- {"type":"data","id":"1","data":{"kind":"event","event":{"version":0,"type":"temp",...}}}
-> {"type":"send","id":"1","data":{"stop":true}}
<- {"type":"ack","id":"1","of":"send"}
<- {"type":"end","id":"1","result":{"reason":"stopped","next":1,"delivered":1}}
"""


def asyncapi_document() -> dict[str, Any]:
    """The whole document; deterministic, so it can be committed and compared."""
    models = [
        *CLIENT_MESSAGES.values(),
        *SERVER_MESSAGES.values(),
        *(m.params for m in METHODS.values()),
    ]
    unique = list(dict.fromkeys(models))
    refs, schema = models_json_schema([(m, "validation") for m in unique], ref_template=_REF)
    schemas = schema.get("$defs", {})

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return refs[(model, "validation")]  # type: ignore[return-value]

    messages = {
        name: {
            "name": name,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip(),
            "payload": ref(model),
        }
        for name, model in {**CLIENT_MESSAGES, **SERVER_MESSAGES}.items()
    }
    channel_messages = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}

    def operation(action: str, names: dict[str, type[BaseModel]]) -> dict[str, Any]:
        return {
            "action": action,
            "channel": {"$ref": "#/channels/hub"},
            "messages": [{"$ref": f"#/channels/hub/messages/{n}"} for n in names],
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Chronicle WebSocket hub",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "servers": {
            "local": {"host": "127.0.0.1:8000", "protocol": "ws", "pathname": "/ws"},
        },
        "defaultContentType": "application/json",
        "channels": {"hub": {"address": "/ws", "messages": channel_messages}},
        "operations": {
            "receiveClientFrames": operation("receive", CLIENT_MESSAGES),
            "sendServerFrames": operation("send", SERVER_MESSAGES),
        },
        "components": {"schemas": schemas, "messages": messages},
        "x-methods": {
            name: {
                "kind": m.kind,
                "accepts_sends": m.accepts_sends,
                "needs": str(m.need),
                "description": " ".join((m.handler.__doc__ or "").split()),
                "params": ref(m.params),
            }
            for name, m in sorted(METHODS.items())
        },
    }


def render() -> str:
    return json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
