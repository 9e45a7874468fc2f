"""Wire models for chronicles and streams."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.domain.catalog import Chronicle, Stream
from app.domain.names import CHRONICLE_NAME_PATTERN

Attributes = dict[str, Any]


class ChronicleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=CHRONICLE_NAME_PATTERN, examples=["sensors"])
    attributes: Attributes = Field(default_factory=dict, examples=[{"site": "lab-1"}])


class ChroniclePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attributes: Attributes = Field(
        description="Merged into the attributes; a key set to null is removed",
        examples=[{"owner": "ops", "obsolete": None}],
    )


class ChronicleOut(BaseModel):
    name: str
    attributes: Attributes
    created_at: datetime

    @classmethod
    def of(cls, chronicle: Chronicle) -> "ChronicleOut":
        return cls(
            name=chronicle.name, attributes=chronicle.attributes, created_at=chronicle.created_at
        )


class ChroniclePage(BaseModel):
    items: list[ChronicleOut]
    next: str | None = Field(description="Pass as `after` for the next page; null at the end")


class StreamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attributes: Attributes = Field(default_factory=dict)


class StreamOut(BaseModel):
    chronicle: str
    name: str
    attributes: Attributes
    version: int = Field(description="Number of the last event; -1 when the stream is empty")
    event_count: int
    first_recorded_at: int | None = Field(description="Nanoseconds since the Unix epoch")
    last_recorded_at: int | None = Field(description="Nanoseconds since the Unix epoch")
    created_at: datetime

    @classmethod
    def of(cls, stream: Stream) -> "StreamOut":
        return cls(
            chronicle=stream.chronicle,
            name=stream.name,
            attributes=stream.attributes,
            version=stream.version,
            event_count=stream.event_count,
            first_recorded_at=stream.first_recorded_at,
            last_recorded_at=stream.last_recorded_at,
            created_at=stream.created_at,
        )


class StreamPage(BaseModel):
    items: list[StreamOut]
    next: str | None = Field(description="Pass as `after` for the next page; null at the end")
