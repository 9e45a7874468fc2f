"""Wire models for events: publishing and reading."""

import base64
import binascii
from typing import Annotated, Any
from uuid import UUID

import orjson
from annotated_types import Ge, Le
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from app.domain.event_types import check_event_type
from app.domain.events import JSON_CONTENT_TYPE, AppendResult, NewEvent, RecordedEvent
from app.domain.expected_version import ExpectedState, ExpectedVersion, parse_expected_version
from app.domain.json_text import encode_json
from app.errors import InvalidInputError


def _no_strings(value: Any) -> Any:
    # JSON Schema counts 5.0 as an integer, so floats with no fraction pass; "5" and true do not.
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON integer, not a string or boolean")
    return value


# Constraints before the validator, so that they reach the JSON schema as minimum/maximum.
WholeNumber = Annotated[int, Ge(0), Le(2**63 - 1), BeforeValidator(_no_strings)]
Nanoseconds = WholeNumber
# A named enum, so generated clients get one readable type for the keywords.
ExpectedVersionIn = ExpectedState | WholeNumber
# Segments are non-empty and never a bare wildcard; no control characters.
_SEGMENT = r"(?:[^/?*\x00-\x1f][^/\x00-\x1f]*|[?*][^/\x00-\x1f]+)"
EVENT_TYPE_PATTERN = rf"^(?:{_SEGMENT}(?:/{_SEGMENT})*)?$"
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
PRINTABLE_PATTERN = r"^[^\x00-\x1f]*$"


class EventIn(BaseModel):
    """One event to publish: JSON in ``data``, or bytes in ``data_base64`` with a content type."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "not": {"required": ["data", "data_base64"]},
            "examples": [
                {
                    "type": "sensor/temp/room1",
                    "data": {"celsius": 21.5},
                    "metadata": {"correlation_id": "c-1"},
                }
            ],
        },
    )

    event_id: UUID | None = Field(
        default=None, description="Idempotency key; generated when omitted"
    )
    type: str = Field(
        max_length=512,
        pattern=EVENT_TYPE_PATTERN,
        description="Segments separated by '/'; the empty string is the empty type",
    )
    data: Any = Field(default=None, description="The JSON payload (omit when binary)")
    data_base64: str | None = Field(
        default=None, pattern=BASE64_PATTERN, description="A binary payload, base64"
    )
    content_type: str | None = Field(
        default=None,
        max_length=255,
        pattern=PRINTABLE_PATTERN,
        description="Media type of the payload; application/json for JSON data",
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    source_timestamp: Nanoseconds | None = Field(
        default=None, description="The producer's own clock, nanoseconds since the Unix epoch"
    )
    client_id: str | None = Field(default=None, max_length=200, pattern=PRINTABLE_PATTERN)

    @model_validator(mode="after")
    def _one_payload(self) -> "EventIn":
        if self.data_base64 is not None and "data" in self.model_fields_set:
            raise ValueError("give either data (JSON) or data_base64 (binary), not both")
        return self

    def to_new_event(self) -> NewEvent:
        """Validate the type, encode the payload once; raise domain errors on bad input."""
        check_event_type(self.type)
        binary: bytes | None = None
        json_data: str | None = None
        if self.data_base64 is not None:
            try:
                binary = base64.b64decode(self.data_base64, validate=True)
            except (binascii.Error, ValueError) as error:
                raise InvalidInputError(f"data_base64 is not valid base64: {error}") from error
            content_type = self.content_type or "application/octet-stream"
        else:
            json_data = encode_json(self.data, "data")
            content_type = self.content_type or JSON_CONTENT_TYPE
        return NewEvent(
            event_id=self.event_id,
            type=self.type,
            json_data=json_data,
            binary_data=binary,
            content_type=content_type,
            metadata=encode_json(self.metadata, "metadata"),
            source_timestamp=self.source_timestamp,
            client_id=self.client_id,
        )


class PublishIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "expected_version": "no_stream",
                    "events": [
                        {
                            "type": "sensor/temp/room1",
                            "data": {"celsius": 21.5},
                            "source_timestamp": 1767225600000000000,
                            "client_id": "writer-1",
                        }
                    ],
                },
                {"expected_version": 3, "events": [{"type": "door/open", "data": None}]},
            ]
        },
    )

    events: list[EventIn] = Field(min_length=1)
    expected_version: ExpectedVersionIn = Field(
        default=ExpectedState.ANY,
        description="any | no_stream | exists | empty | the exact number of the last event",
    )

    def expected(self) -> ExpectedVersion:
        return parse_expected_version(self.expected_version)

    def new_events(self) -> list[NewEvent]:
        return [e.to_new_event() for e in self.events]

    def ids_all_generated(self) -> bool:
        return all(e.event_id is None for e in self.events)


class WrittenEvent(BaseModel):
    event_id: UUID
    version: int
    position: int
    recorded_at: int


class PublishOut(BaseModel):
    chronicle: str
    stream: str
    stream_version: int = Field(description="The stream's version after the publish")
    events: list[WrittenEvent]
    duplicate: bool = Field(
        description="True when this repeated an earlier publish: nothing was written"
    )

    @classmethod
    def of(cls, chronicle: str, stream: str, result: AppendResult) -> "PublishOut":
        return cls(
            chronicle=chronicle,
            stream=stream,
            stream_version=result.stream_version,
            duplicate=result.duplicate,
            events=[
                WrittenEvent(
                    event_id=e.event_id,
                    version=e.version,
                    position=e.position,
                    recorded_at=e.recorded_at,
                )
                for e in result.events
            ],
        )


def publish_out(chronicle: str, stream: str, result: AppendResult) -> dict[str, Any]:
    """PublishOut as plain data for orjson, without building the model (the hot path)."""
    return {
        "chronicle": chronicle,
        "stream": stream,
        "stream_version": result.stream_version,
        "events": [
            {
                "event_id": str(e.event_id),
                "version": e.version,
                "position": e.position,
                "recorded_at": e.recorded_at,
            }
            for e in result.events
        ],
        "duplicate": result.duplicate,
    }


class EventOut(BaseModel):
    event_id: UUID
    chronicle: str
    stream: str
    version: int
    position: int
    type: str
    data: Any = Field(default=None, description="The JSON payload; absent for binary events")
    data_base64: str | None = Field(default=None, description="A binary payload, base64")
    content_type: str
    metadata: dict[str, Any]
    recorded_at: int = Field(description="Server time, nanoseconds since the Unix epoch")
    source_timestamp: int | None
    client_id: str | None

    @classmethod
    def of(cls, e: RecordedEvent) -> "EventOut":
        return cls(
            event_id=e.event_id,
            chronicle=e.chronicle,
            stream=e.stream,
            version=e.version,
            position=e.position,
            type=e.type,
            data=orjson.loads(e.json_data) if e.json_data is not None else None,
            data_base64=(
                base64.b64encode(e.binary_data).decode() if e.binary_data is not None else None
            ),
            content_type=e.content_type,
            metadata=orjson.loads(e.metadata),
            recorded_at=e.recorded_at,
            source_timestamp=e.source_timestamp,
            client_id=e.client_id,
        )


class EventPage(BaseModel):
    events: list[EventOut]
    next: int | None = Field(
        description="Where the next page starts (a version, or a position for the global "
        "log); null when there is nothing further"
    )
