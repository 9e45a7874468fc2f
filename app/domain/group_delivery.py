"""The delivery state machine of a persistent subscription (consumer group), without I/O.

Events are read from the store in position order and handed to consumers; each stays
in flight until its consumer acks or nacks it, or its ack timeout passes. The checkpoint
is the lowest position that is not finished yet: everything below it was acked, skipped
or parked, so a restart that resumes from it redelivers only unfinished events
(at-least-once). The caller owns the clock (``now`` in seconds) and the storage.
"""

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from app.errors import InvalidInputError, NotFoundError


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    """Each event to the next consumer (in join order) that has room."""
    DISPATCH_TO_SINGLE = "dispatch_to_single"
    """Every event to the first consumer that has room; the next only once it is full."""


class NackAction(StrEnum):
    RETRY = "retry"
    PARK = "park"
    SKIP = "skip"


class EventNotInFlightError(NotFoundError):
    code = "event_not_in_flight"
    title = "Event not in flight to this consumer"


class ConsumerNotFoundError(InvalidInputError):
    code = "consumer_not_found"
    title = "Unknown consumer"


@dataclass(frozen=True, slots=True)
class GroupSettings:
    ack_timeout: float = 30.0
    """Seconds an event may stay in flight before it is redelivered."""
    max_retries: int = 10
    """Deliveries after the first; one more failure parks the event."""
    max_in_flight: int = 10
    """Unacked events per consumer."""
    strategy: Strategy = Strategy.ROUND_ROBIN


class Positioned(Protocol):
    @property
    def position(self) -> int: ...

    @property
    def event_id(self) -> UUID: ...


E = TypeVar("E", bound=Positioned)


@dataclass(slots=True)
class _Entry(Generic[E]):
    event: E
    retries: int = 0
    replayed: bool = False
    """Taken back from the parked list: below the checkpoint, finished separately."""
    consumer: str | None = None
    deadline: float = 0.0


@dataclass(frozen=True, slots=True)
class Delivery(Generic[E]):
    consumer: str
    event: E
    retry_count: int


@dataclass(frozen=True, slots=True)
class Parked(Generic[E]):
    event: E
    reason: str
    retries: int


@dataclass(slots=True)
class _Consumer:
    max_in_flight: int
    in_flight: set[int] = field(default_factory=set)


class GroupState(Generic[E]):
    """One group's in-memory state. Not thread-safe; call it from one event loop.

    ``take_parked`` and ``take_finished_replays`` hand over what the caller must write
    (parked rows to insert, replayed rows to delete) before it stores ``checkpoint``.
    """

    def __init__(self, settings: GroupSettings, checkpoint: int, buffer_size: int = 500) -> None:
        self.settings = settings
        self.read_cursor = checkpoint
        self.buffer_size = buffer_size
        self._entries: dict[int, _Entry[E]] = {}
        self._by_id: dict[UUID, int] = {}
        self._pending: deque[int] = deque()
        self._consumers: dict[str, _Consumer] = {}
        self._turn = 0
        self._parked: list[Parked[E]] = []
        self._finished_replays: list[int] = []

    # consumers

    def add_consumer(self, consumer: str, max_in_flight: int | None = None) -> int:
        """Join ``consumer``; its limit is the group's unless it asks for fewer."""
        limit = self.settings.max_in_flight
        if max_in_flight is not None:
            limit = min(limit, max_in_flight)
        self._consumers[consumer] = _Consumer(limit)
        return limit

    def remove_consumer(self, consumer: str) -> None:
        """Its in-flight events go back to the front of the queue, counted as a retry."""
        gone = self._consumers.pop(consumer, None)
        if gone is None:
            return
        for position in sorted(gone.in_flight, reverse=True):
            self._fail(position, "consumer left")

    @property
    def consumers(self) -> list[str]:
        return list(self._consumers)

    # events in

    @property
    def wants_more(self) -> bool:
        """Whether to read further events from the store (memory stays bounded)."""
        return len(self._pending) < self.buffer_size

    def offer(self, events: list[E], next_cursor: int) -> None:
        """New events read from the store after ``read_cursor``, and where to read next."""
        for event in events:
            if event.position < self.read_cursor or event.position in self._entries:
                continue
            self._add(_Entry(event))
        self.read_cursor = max(self.read_cursor, next_cursor)

    def offer_replayed(self, events: list[E]) -> None:
        """Parked events asked to be replayed: delivered again, retry count reset."""
        for event in events:
            if event.position not in self._entries:
                self._add(_Entry(event, replayed=True))

    def _add(self, entry: _Entry[E]) -> None:
        position = entry.event.position
        self._entries[position] = entry
        self._by_id[entry.event.event_id] = position
        self._pending.append(position)

    # dispatch

    def dispatch(self, now: float) -> list[Delivery[E]]:
        """Hand pending events to consumers with room, by the group's strategy."""
        deliveries: list[Delivery[E]] = []
        while self._pending:
            consumer = self._choose()
            if consumer is None:
                break
            position = self._pending.popleft()
            entry = self._entries[position]
            entry.consumer = consumer
            entry.deadline = now + self.settings.ack_timeout
            self._consumers[consumer].in_flight.add(position)
            deliveries.append(Delivery(consumer, entry.event, entry.retries))
        return deliveries

    def _choose(self) -> str | None:
        names = list(self._consumers)
        if not names:
            return None
        single = self.settings.strategy is Strategy.DISPATCH_TO_SINGLE
        start = 0 if single else self._turn % len(names)
        for offset in range(len(names)):
            name = names[(start + offset) % len(names)]
            state = self._consumers[name]
            if len(state.in_flight) < state.max_in_flight:
                if not single:
                    self._turn = (start + offset + 1) % len(names)
                return name
        return None

    # answers

    def ack(self, consumer: str, event_ids: list[UUID]) -> None:
        """Finish events; every id must be in flight to ``consumer`` (else nothing changes)."""
        for position in self._in_flight_to(consumer, event_ids):
            self._finish(position)

    def nack(
        self, consumer: str, event_ids: list[UUID], action: NackAction, reason: str = ""
    ) -> None:
        """Retry (counted; parked past max retries), park, or skip events in flight."""
        for position in self._in_flight_to(consumer, event_ids):
            if action is NackAction.SKIP:
                self._finish(position)
            elif action is NackAction.PARK:
                entry = self._release(position)
                self._park(entry, reason or "parked by the consumer")
            else:
                self._fail(position, reason or "retry requested by the consumer")

    def expire(self, now: float) -> int:
        """Redeliver (or park) events whose ack timeout passed; returns how many."""
        late = [p for p, e in self._entries.items() if e.consumer is not None and e.deadline <= now]
        for position in sorted(late, reverse=True):
            self._fail(position, "ack timeout")
        return len(late)

    def next_deadline(self) -> float | None:
        deadlines = [e.deadline for e in self._entries.values() if e.consumer is not None]
        return min(deadlines, default=None)

    def _in_flight_to(self, consumer: str, event_ids: list[UUID]) -> list[int]:
        state = self._consumers.get(consumer)
        if state is None:
            raise ConsumerNotFoundError(f"consumer {consumer!r} is not in this group")
        positions: list[int] = []
        for event_id in event_ids:
            position = self._by_id.get(event_id)
            if position is None or position not in state.in_flight:
                raise EventNotInFlightError(
                    f"event {event_id} is not in flight to this consumer (unknown, already "
                    "answered, or redelivered after its ack timeout)",
                    event_id=str(event_id),
                )
            positions.append(position)
        return positions

    def _release(self, position: int) -> _Entry[E]:
        entry = self._entries[position]
        holder = self._consumers.get(entry.consumer) if entry.consumer is not None else None
        if holder is not None:  # None too when its consumer has just left
            holder.in_flight.discard(position)
        entry.consumer = None
        return entry

    def _finish(self, position: int) -> None:
        entry = self._release(position)
        del self._entries[position]
        self._by_id.pop(entry.event.event_id, None)
        if entry.replayed:
            self._finished_replays.append(position)

    def _fail(self, position: int, reason: str) -> None:
        entry = self._release(position)
        entry.retries += 1
        if entry.retries > self.settings.max_retries:
            self._park(entry, f"{reason}; max retries ({self.settings.max_retries}) exceeded")
        else:
            self._pending.appendleft(position)  # redelivered before newer events

    def _park(self, entry: _Entry[E], reason: str) -> None:
        position = entry.event.position
        del self._entries[position]
        self._by_id.pop(entry.event.event_id, None)
        if position in self._pending:
            self._pending.remove(position)
        self._parked.append(Parked(entry.event, reason, entry.retries))

    # progress

    @property
    def checkpoint(self) -> int:
        """Every position below this is acked, skipped or parked."""
        open_positions = [p for p, e in self._entries.items() if not e.replayed]
        return min(open_positions, default=self.read_cursor)

    def take_parked(self) -> list[Parked[E]]:
        parked, self._parked = self._parked, []
        return parked

    def take_finished_replays(self) -> list[int]:
        finished, self._finished_replays = self._finished_replays, []
        return finished

    def in_flight(self, consumer: str) -> int:
        return len(self._consumers[consumer].in_flight)
