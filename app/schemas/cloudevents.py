"""CloudEvents 1.0 JSON format: events out as structured CloudEvents, CloudEvents in as EventIn.

Out (``cloudevent``): ``id`` = event_id, ``source`` = ``/chronicles/{c}/streams/{s}``,
``subject`` = stream, ``type``, ``time`` = source_timestamp (absent when unknown),
``datacontenttype`` = content_type, ``data`` (JSON, absent for JSON null; or the text of
a ``text/*`` payload) or ``data_base64`` (other binary), and the extensions
``recordedtime`` (RFC 3339), ``sequence`` (the global position as 20 zero-padded digits,
so string order is position order), ``chronicle``, ``streamversion`` (integer),
``clientid`` (when set) and ``metadata`` (the metadata object as JSON text; absent when
empty). Times carry nanoseconds. An event of the empty type gets ``type`` "", which
CloudEvents does not allow: consumers may reject it (and publishing one is refused).

In (``event_in``): ``id`` = event_id (a non-UUID id becomes the UUID5 of source and id,
and is kept as ``metadata.id``), ``type``, ``data`` / ``data_base64`` = payload,
``datacontenttype`` = content_type, ``time`` = source_timestamp, ``clientid`` =
client_id; the ``metadata`` extension (JSON text of an object) is the metadata, and every
other extension is added to it, as are ``dataschema`` and a ``source`` / ``subject`` other
than the stream's own. Extensions Chronicle assigns itself (``recordedtime``,
``sequence``, ``chronicle``, ``streamversion``) are ignored.
"""

import base64
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import unquote

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.domain.events import RecordedEvent
from app.errors import InvalidCloudEventError, MalformedJsonError
from app.schemas.events import EventIn, EventOut

STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
SPEC_VERSION = "1.0"

_ASSIGNED_BY_CHRONICLE = {"recordedtime", "sequence", "chronicle", "streamversion"}
_CONTEXT = {"specversion", "id", "source", "type", "subject", "time", "datacontenttype"}
_EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)
_JSON_MEDIA_TYPE = re.compile(r"(?:application|text)/(?:[\w.+-]+\+)?json(?:\s*;.*)?", re.I)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in the structured JSON format, as Chronicle writes it."""

    model_config = ConfigDict(extra="allow", title="CloudEvent")

    specversion: str = Field(examples=["1.0"])
    id: str
    source: str = Field(examples=["/chronicles/sensors/streams/room1"])
    type: str
    subject: str | None = None
    time: str | None = Field(default=None, description="RFC 3339; the source timestamp")
    datacontenttype: str | None = None
    data: Any = None
    data_base64: str | None = None
    recordedtime: str | None = Field(default=None, description="RFC 3339; when stored")
    sequence: str | None = Field(default=None, description="Global position, 20 digits")
    chronicle: str | None = None
    streamversion: int | None = None
    clientid: str | None = None
    metadata: str | None = Field(default=None, description="The metadata object, JSON text")


def source_of(chronicle: str, stream: str) -> str:
    return f"/chronicles/{chronicle}/streams/{stream}"


def rfc3339(nanoseconds: int) -> str:
    """``2026-12-02T13:00:00.123456789Z`` for nanoseconds since the Unix epoch."""
    seconds, fraction = divmod(nanoseconds, 10**9)
    moment = _EPOCH + timedelta(seconds=seconds)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


def parse_rfc3339(text: str) -> int:
    """Nanoseconds since the Unix epoch; raises InvalidCloudEventError."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidCloudEventError(f"time {text!r} is not an RFC 3339 timestamp")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        zone = (
            UTC
            if offset in ("Z", "z")
            else timezone(
                (1 if offset[0] == "+" else -1)
                * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
            )
        )
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError as error:
        raise InvalidCloudEventError(f"time {text!r} is not a valid time: {error}") from error
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    nanoseconds = seconds * 10**9 + int((fraction or "0")[:9].ljust(9, "0"))
    if not 0 <= nanoseconds < 2**63:
        raise InvalidCloudEventError(f"time {text!r} is outside 1970 to 2262")
    return nanoseconds


def cloudevent(e: RecordedEvent) -> dict[str, Any]:
    """The structured CloudEvent of a stored event (see the module docstring)."""
    out: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": str(e.event_id),
        "source": source_of(e.chronicle, e.stream),
        "type": e.type,
        "subject": e.stream,
        "datacontenttype": e.content_type,
    }
    if e.source_timestamp is not None:
        out["time"] = rfc3339(e.source_timestamp)
    out["recordedtime"] = rfc3339(e.recorded_at)
    out["sequence"] = f"{e.position:020d}"
    out["chronicle"] = e.chronicle
    out["streamversion"] = e.version
    if e.client_id is not None:
        out["clientid"] = e.client_id
    metadata = orjson.loads(e.metadata)
    if metadata:
        out["metadata"] = orjson.dumps(metadata).decode()
    text = _as_text(e.binary_data, e.content_type)
    if text is not None:
        out["data"] = text
    elif e.binary_data is not None:
        out["data_base64"] = base64.b64encode(e.binary_data).decode()
    elif e.json_data is not None and e.json_data != "null":
        out["data"] = orjson.loads(e.json_data)
    return out


def _as_text(data: bytes | None, media_type: str) -> str | None:
    # The JSON format carries text of a non-JSON media type as a JSON string in data.
    if data is None or not media_type.lower().startswith("text/"):
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def is_json_media_type(media_type: str | None) -> bool:
    return media_type is None or _JSON_MEDIA_TYPE.fullmatch(media_type) is not None


def event_in(attributes: Any, chronicle: str, stream: str) -> EventIn:
    """The EventIn for one structured CloudEvent (a parsed JSON object); raises
    InvalidCloudEventError (422) naming the attribute at fault."""
    if not isinstance(attributes, dict):
        raise InvalidCloudEventError("a CloudEvent is a JSON object")
    attributes = {k: v for k, v in attributes.items() if v is not None}
    if attributes.get("specversion") != SPEC_VERSION:
        raise InvalidCloudEventError(
            f"specversion must be {SPEC_VERSION!r}, got {attributes.get('specversion')!r}"
        )
    for name in ("id", "source", "type"):
        if not isinstance(attributes.get(name), str) or not attributes[name]:
            raise InvalidCloudEventError(f"{name} is required: a non-empty string")
    for name in ("subject", "time", "datacontenttype", "dataschema", "data_base64"):
        if name in attributes and not isinstance(attributes[name], str):
            raise InvalidCloudEventError(f"{name} must be a string")
    if "data" in attributes and "data_base64" in attributes:
        raise InvalidCloudEventError("give either data or data_base64, not both")

    ce_id, source = attributes["id"], attributes["source"]
    metadata = _metadata(attributes)
    try:
        event_id = uuid.UUID(ce_id)
    except ValueError:
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{source}#{ce_id}")
        metadata["id"] = ce_id
    if source != source_of(chronicle, stream):
        metadata["source"] = source
    if attributes.get("subject", stream) != stream:
        metadata["subject"] = attributes["subject"]
    if "dataschema" in attributes:
        metadata["dataschema"] = attributes["dataschema"]

    fields: dict[str, Any] = {
        "event_id": event_id,
        "type": attributes["type"],
        "metadata": metadata,
        "content_type": attributes.get("datacontenttype"),
    }
    if "time" in attributes:
        fields["source_timestamp"] = parse_rfc3339(attributes["time"])
    if "clientid" in attributes:
        fields["client_id"] = str(attributes["clientid"])
    data = attributes.get("data")
    if "data_base64" in attributes:
        fields["data_base64"] = attributes["data_base64"]
    elif isinstance(data, str) and not is_json_media_type(fields["content_type"]):
        # The JSON format carries text of a non-JSON media type as a JSON string.
        fields["data_base64"] = base64.b64encode(data.encode()).decode()
    elif "data" in attributes:
        fields["data"] = data
    try:
        return EventIn.model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidCloudEventError(
            f"{_attribute_name(where)}: {first['msg']}", attribute=_attribute_name(where)
        ) from error


def _attribute_name(field: str) -> str:
    return {
        "event_id": "id",
        "content_type": "datacontenttype",
        "source_timestamp": "time",
        "client_id": "clientid",
    }.get(field, field)


def _metadata(attributes: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if "metadata" in attributes:
        try:
            metadata = orjson.loads(attributes["metadata"])
        except (orjson.JSONDecodeError, TypeError) as error:
            raise InvalidCloudEventError(
                "the metadata extension must be the JSON text of an object"
            ) from error
        if not isinstance(metadata, dict):
            raise InvalidCloudEventError("the metadata extension must be a JSON object's text")
    for name, value in attributes.items():
        if name in _CONTEXT or name in _ASSIGNED_BY_CHRONICLE:
            continue
        if name in ("data", "data_base64", "dataschema", "metadata", "clientid"):
            continue
        if not _EXTENSION_NAME.fullmatch(name):
            raise InvalidCloudEventError(
                f"extension attribute {name!r}: names are 1 to 20 lowercase letters or digits"
            )
        if not isinstance(value, str | int | bool):
            raise InvalidCloudEventError(
                f"extension attribute {name!r} must be a string, integer or boolean"
            )
        metadata[name] = value
    return metadata


def binary_event_in(
    headers: Mapping[str, str], body: bytes, chronicle: str, stream: str
) -> EventIn:
    """The EventIn for a binary-mode request: ``ce-*`` headers are the attributes,
    Content-Type the datacontenttype, the body the data (JSON when the type is JSON)."""
    attributes: dict[str, Any] = {
        name.lower()[3:]: unquote(value)
        for name, value in headers.items()
        if name.lower().startswith("ce-")
    }
    content_type = headers.get("content-type")
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    if body:
        if is_json_media_type(content_type):
            try:
                attributes["data"] = orjson.loads(body)
            except orjson.JSONDecodeError as error:
                raise MalformedJsonError(
                    f"the body is declared {content_type or 'JSON'} but is not JSON: {error}"
                ) from error
        else:
            attributes["data_base64"] = base64.b64encode(body).decode()
    return event_in(attributes, chronicle, stream)


EventFormatName = Literal["json", "cloudevents"]
FORMAT_DESCRIPTION = "json: events as EventOut; cloudevents: as CloudEvents 1.0 structured JSON"


def event_body(e: RecordedEvent, format: EventFormatName) -> EventOut | dict[str, Any]:
    """An event as the caller asked for it: Chronicle's own JSON or a CloudEvent."""
    return cloudevent(e) if format == "cloudevents" else EventOut.of(e)
