"""Subscription event frames serialized once: the stored JSON text goes out as it is.

``event_data`` builds the ``{"kind": "event", "event": ...}`` payload of a data frame as an
``orjson.Fragment``: the payload and metadata text PostgreSQL returned (``jsonb::text``)
are spliced in without being decoded and encoded again, and the fragment is embedded as
it is into each subscriber's frame, so an event is serialized once however many
subscribers receive it. The JSON equals ``EventOut.of(e)`` / ``cloudevent(e)`` encoded
(whitespace inside the stored JSON aside).
"""

import base64

import orjson

from app.domain.events import RecordedEvent
from app.schemas.cloudevents import EventFormatName, cloudevent


def event_json(e: RecordedEvent) -> orjson.Fragment:
    """The event in Chronicle's own JSON format (the fields of ``EventOut``, in its order)."""
    return orjson.Fragment(
        orjson.dumps(
            {
                "event_id": str(e.event_id),
                "chronicle": e.chronicle,
                "stream": e.stream,
                "version": e.version,
                "position": e.position,
                "type": e.type,
                "data": None if e.json_data is None else orjson.Fragment(e.json_data),
                "data_base64": (
                    None if e.binary_data is None else base64.b64encode(e.binary_data).decode()
                ),
                "content_type": e.content_type,
                "metadata": orjson.Fragment(e.metadata),
                "recorded_at": e.recorded_at,
                "source_timestamp": e.source_timestamp,
                "client_id": e.client_id,
            }
        )
    )


EVENT_DATA = ('{"kind":"event","event":', "}")
"""What the data of a subscription event frame puts before and after the event's JSON."""


def event_text(e: RecordedEvent, format: EventFormatName) -> str:
    """The event's JSON text in ``format`` (what ``event_data`` wraps)."""
    event = cloudevent(e) if format == "cloudevents" else event_json(e)
    return orjson.dumps(event).decode()


def event_data_from_json(event: str) -> orjson.Fragment:
    """The data of one subscription event frame around an event's JSON text."""
    return orjson.Fragment(EVENT_DATA[0] + event + EVENT_DATA[1])


def event_data(e: RecordedEvent, format: EventFormatName) -> orjson.Fragment:
    """The data of one subscription event frame, serialized."""
    return event_data_from_json(event_text(e, format))
