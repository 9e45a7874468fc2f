"""Subscription frames serialized once (hub/encoding.py) say what EventOut / cloudevent say."""

import uuid

import orjson
import pytest

from app.domain.events import RecordedEvent
from app.hub.encoding import event_data, event_data_from_json, event_json
from app.schemas.cloudevents import cloudevent
from app.schemas.events import EventOut


def _event(json_data: str | None, binary: bytes | None, content_type: str) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(),
        chronicle="c",
        stream="s",
        version=3,
        position=17,
        type="sensor/temp",
        json_data=json_data,
        binary_data=binary,
        content_type=content_type,
        metadata='{"k": "v"}',
        recorded_at=1_767_225_600_000_000_001,
        source_timestamp=None,
        client_id="w",
    )


EVENTS = [
    _event('{"a": [1, 2.5, "ü"], "b": null}', None, "application/json"),
    _event("null", None, "application/json"),
    _event(None, b"\x00\x01\xff", "application/octet-stream"),
    _event(None, b"hello", "text/plain"),
]


@pytest.mark.parametrize("event", EVENTS)
def test_event_json_is_event_out(event: RecordedEvent) -> None:
    assert orjson.loads(orjson.dumps(event_json(event))) == EventOut.of(event).model_dump(
        mode="json"
    )


@pytest.mark.parametrize("event", EVENTS)
def test_event_data_wraps_either_format(event: RecordedEvent) -> None:
    frame = {"type": "data", "id": 1, "data": event_data(event, "json")}
    decoded = orjson.loads(orjson.dumps(frame))["data"]
    assert decoded == {"kind": "event", "event": EventOut.of(event).model_dump(mode="json")}
    cloud = orjson.loads(orjson.dumps(event_data(event, "cloudevents")))
    assert cloud == {"kind": "event", "event": orjson.loads(orjson.dumps(cloudevent(event)))}
    text = orjson.dumps(event_json(event)).decode()
    assert orjson.loads(orjson.dumps(event_data_from_json(text))) == decoded
