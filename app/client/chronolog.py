"""A ChronoLog-style writer/reader (chronicles, stories, log_event, replay) over Connection."""

import time
from dataclasses import dataclass
from typing import Any

from app.client.connection import CallError, Connection


@dataclass
class StoryHandle:
    """What ``acquire_story`` returns; ``log_event`` appends to the story."""

    log: "ChronoLog"
    chronicle: str
    story: str
    index: int = 0

    async def log_event(self, record: Any, type: str = "log") -> dict[str, Any]:
        """Append ``record`` stamped with this client's id, the time in ns and its index."""
        result = await self.log.connection.publish_event(
            self.chronicle,
            self.story,
            type,
            record,
            client_id=self.log.client_id,
            source_timestamp=time.time_ns(),
            metadata={"index": self.index},
        )
        self.index += 1
        return result


class ChronoLog:
    """``log = ChronoLog(connection, client_id="writer-1")``: the ChronoLog client calls."""

    def __init__(self, connection: Connection, client_id: str) -> None:
        self.connection = connection
        self.client_id = client_id

    async def create_chronicle(self, name: str, attributes: dict[str, Any] | None = None) -> bool:
        """True when created, False when it already existed (ChronoLog's CHRONICLE_EXISTS)."""
        try:
            await self.connection.call(
                "create_chronicle", {"name": name, "attributes": attributes or {}}
            )
        except CallError as error:
            if error.code == "chronicle_exists":
                return False
            raise
        return True

    async def acquire_story(
        self, chronicle: str, story: str, attributes: dict[str, Any] | None = None
    ) -> StoryHandle:
        """Open the story, creating it if needed."""
        await self.connection.call(
            "acquire_stream",
            {"chronicle": chronicle, "stream": story, "attributes": attributes or {}},
        )
        return StoryHandle(self, chronicle, story)

    async def release_story(self, chronicle: str, story: str) -> None:
        """Nothing is buffered client-side (every log_event is acknowledged), so this only
        checks that the story exists."""
        await self.connection.call("get_stream", {"chronicle": chronicle, "stream": story})

    async def replay_story(
        self, chronicle: str, story: str, start: int, end: int
    ) -> list[dict[str, Any]]:
        """Events recorded in the inclusive nanosecond range ``[start, end]``, in order."""
        call = await self.connection.start(
            "replay", {"chronicle": chronicle, "stream": story, "start": start, "end": end}
        )
        return [event async for event in call]
