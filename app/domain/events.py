"""Event values as the domain sees them, independent of wire format and table rows."""

from dataclasses import dataclass
from uuid import UUID

import orjson

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event a client asks to append. Exactly one of json_data / binary_data is set.

    ``json_data`` and ``metadata`` are JSON text: they are validated and encoded once at
    the edge and passed to PostgreSQL as they are. ``event_id`` None: the client gave none,
    and the database makes one as it writes the event.
    """

    event_id: UUID | None
    type: str
    json_data: str | None
    binary_data: bytes | None
    content_type: str
    metadata: str
    source_timestamp: int | None
    client_id: str | None

    @property
    def size(self) -> int:
        """Bytes counted against the per-event size limit."""
        payload = (
            len(self.json_data) if self.json_data is not None else len(self.binary_data or b"")
        )
        return payload + len(self.metadata)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored, with the numbers the store assigned."""

    event_id: UUID
    chronicle: str
    stream: str
    version: int
    position: int
    type: str
    json_data: str | None
    binary_data: bytes | None
    content_type: str
    metadata: str
    recorded_at: int
    source_timestamp: int | None
    client_id: str | None

    def same_content(self, new: NewEvent) -> bool:
        """Whether re-publishing ``new`` is an idempotent repeat of this event."""
        return (
            self.type == new.type
            and self.content_type == new.content_type
            and self.binary_data == new.binary_data
            and self.source_timestamp == new.source_timestamp
            and self.client_id == new.client_id
            and _same_json(self.json_data, new.json_data)
            and _same_json(self.metadata, new.metadata)
        )


def _same_json(stored: str | None, sent: str | None) -> bool:
    # jsonb normalises key order and spacing, so compare values, not text.
    if stored is None or sent is None:
        return stored is sent
    return bool(orjson.loads(stored) == orjson.loads(sent))


@dataclass(frozen=True, slots=True)
class AppendedEvent:
    """An appended event's id and the numbers the store gave it: all a publisher is told
    back. Four fields, not RecordedEvent's thirteen: one is built per event of every
    append, on the server's busiest path."""

    event_id: UUID
    version: int
    position: int
    recorded_at: int


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What a publish wrote (or, for an idempotent repeat, had written before)."""

    events: list[AppendedEvent]
    stream_version: int
    created_stream: bool
    duplicate: bool
