"""Size limits on what one publish may carry."""

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.events import NewEvent
from app.errors import BatchTooLargeError, EventTooLargeError


@dataclass(frozen=True, slots=True)
class PublishLimits:
    max_event_bytes: int
    max_events_per_publish: int

    def check(self, events: Sequence[NewEvent]) -> None:
        """Raise BatchTooLargeError or EventTooLargeError when a limit is exceeded."""
        if len(events) > self.max_events_per_publish:
            raise BatchTooLargeError(
                f"{len(events)} events in one publish; the limit is "
                f"{self.max_events_per_publish}: split the batch",
                limit=self.max_events_per_publish,
                count=len(events),
            )
        for index, event in enumerate(events):
            if event.size > self.max_event_bytes:
                raise EventTooLargeError(
                    f"event {index} carries {event.size} bytes of data and metadata; the limit "
                    f"is {self.max_event_bytes}",
                    index=index,
                    limit=self.max_event_bytes,
                    size=event.size,
                )
