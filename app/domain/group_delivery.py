"""Consumer-group (persistent subscription) rules without I/O: settings, and who gets what.

A group hands each event of its scope to one consumer at a time. The event stays in
flight until that consumer acks it (finished), nacks it (``retry``, ``park`` or ``skip``)
or its ack timeout passes. Every failure (a nack with retry, a timeout, the consumer
leaving) counts one retry, and the failure after ``max_retries`` retries parks the event
instead of retrying it. Parked events wait in the group's parked list until replayed.
The checkpoint is the lowest position that is not finished yet: everything below it was
acked, skipped or parked. storage/group_delivery.py keeps this state in PostgreSQL and
states the failure and checkpoint rules in SQL; ``assign`` below picks the consumers.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, Literal, TypeVar

from app.domain.events import RecordedEvent
from app.errors import InvalidInputError, NotFoundError

MIN_ACK_TIMEOUT = 0.01
"""Seconds; shorter would only make consumers spin on redeliveries."""
MAX_ACK_TIMEOUT = 86_400.0
"""Seconds; a day."""
MAX_RETRIES = 1_000
MAX_IN_FLIGHT = 10_000


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    """Each event to the next consumer (in join order) that has room."""
    DISPATCH_TO_SINGLE = "dispatch_to_single"
    """Every event to the first consumer that has room; the next only once it is full."""


class NackAction(StrEnum):
    RETRY = "retry"
    """Deliver it again (counted as a retry; parked past max retries)."""
    PARK = "park"
    """Move it to the parked list at once."""
    SKIP = "skip"
    """Treat it as finished without processing it."""


class EventNotInFlightError(NotFoundError):
    code = "event_not_in_flight"
    title = "Event not in flight to this consumer"


@dataclass(frozen=True, slots=True)
class GroupSettings:
    ack_timeout: float = 30.0
    """Seconds an event may stay in flight before it is redelivered."""
    max_retries: int = 10
    """Deliveries after the first; one more failure parks the event."""
    max_in_flight: int = 10
    """Unacked events per consumer."""
    strategy: Strategy = Strategy.ROUND_ROBIN

    def __post_init__(self) -> None:
        if not MIN_ACK_TIMEOUT <= self.ack_timeout <= MAX_ACK_TIMEOUT:
            raise InvalidInputError(
                f"ack_timeout must be between {MIN_ACK_TIMEOUT:g} and {MAX_ACK_TIMEOUT:g} "
                f"seconds, not {self.ack_timeout:g}",
                field="ack_timeout",
            )
        for name, value, low, high in (
            ("max_retries", self.max_retries, 0, MAX_RETRIES),
            ("max_in_flight", self.max_in_flight, 1, MAX_IN_FLIGHT),
        ):
            if not low <= value <= high:
                raise InvalidInputError(
                    f"{name} must be between {low} and {high}, not {value}", field=name
                )


GroupStart = Literal["start", "end"] | int
"""Where a new group begins: the first event, only events after its creation, or a position."""


@dataclass(frozen=True, slots=True)
class Group:
    """A group as its users see it. ``chronicle`` None: the group follows every chronicle."""

    name: str
    chronicle: str | None
    stream: str | None
    types: list[str] | None
    start: GroupStart
    settings: GroupSettings
    created_at: datetime
    checkpoint: int
    """Every position below this is acked, skipped or parked."""
    read_position: int
    """The next position the group reads from the store into its buffer."""
    pending: int
    in_flight: int
    parked: int
    consumers: int


@dataclass(frozen=True, slots=True)
class ParkedEvent:
    event: RecordedEvent
    retries: int
    reason: str
    parked_at: datetime


C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class ConsumerRoom(Generic[C]):
    """A consumer, in join order, and how many more events it may hold."""

    consumer: C
    room: int


def assign(
    pending: int, consumers: Sequence[ConsumerRoom[C]], strategy: Strategy, turn: int
) -> tuple[list[C], int]:
    """The consumer of each of the first pending events (as many as there is room for),
    and the round-robin turn to start from next time.

    Round robin: each event to the next consumer after the last one served that has room.
    Dispatch to single: every event to the first consumer in join order that has room.
    """
    rooms = [max(0, c.room) for c in consumers]
    chosen: list[C] = []
    single = strategy is Strategy.DISPATCH_TO_SINGLE
    while len(chosen) < pending and rooms:
        start = 0 if single else turn % len(rooms)
        for offset in range(len(rooms)):
            index = (start + offset) % len(rooms)
            if rooms[index] > 0:
                rooms[index] -= 1
                chosen.append(consumers[index].consumer)
                if not single:
                    turn = index + 1
                break
        else:
            break  # everyone is full
    return chosen, turn
