"""Wire models for chronicles and streams."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from app.domain.catalog import Chronicle, Stream
from app.domain.names import CHRONICLE_NAME_PATTERN
from app.domain.retention import MAX_AGE_SECONDS, MAX_VERSION, Retention

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


class StreamMetadata(BaseModel):
    """Retention (EventStoreDB's `$maxCount`, `$maxAge`, `$tb`); null means no limit.
    Readers stop seeing the events it excludes at once; a background job removes them."""

    model_config = ConfigDict(extra="forbid")

    max_count: StrictInt | None = Field(
        default=None, ge=1, le=MAX_VERSION, description="Keep only the newest N events"
    )
    max_age: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_AGE_SECONDS,
        description="Keep only events recorded less than N seconds ago",
    )
    truncate_before: StrictInt | None = Field(
        default=None, ge=0, le=MAX_VERSION, description="Keep only versions >= N"
    )

    def to_retention(self) -> Retention:
        return Retention(
            max_count=self.max_count, max_age=self.max_age, truncate_before=self.truncate_before
        )

    @classmethod
    def of(cls, retention: Retention) -> "StreamMetadata":
        return cls(
            max_count=retention.max_count,
            max_age=retention.max_age,
            truncate_before=retention.truncate_before,
        )


class StreamOut(BaseModel):
    chronicle: str
    name: str
    attributes: Attributes
    version: int = Field(
        description="Number of the last event ever written (retention and soft deletes keep "
        "it); -1 while the stream never held one"
    )
    event_count: int = Field(description="Events a reader can see now")
    first_recorded_at: int | None = Field(
        description="Of the first visible event; nanoseconds since the Unix epoch"
    )
    last_recorded_at: int | None = Field(
        description="Of the last visible event; nanoseconds since the Unix epoch"
    )
    created_at: datetime
    metadata: StreamMetadata

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
            metadata=StreamMetadata.of(stream.retention),
        )


class StreamPage(BaseModel):
    items: list[StreamOut]
    next: str | None = Field(description="Pass as `after` for the next page; null at the end")
