"""The consumer-group state machine: strategies, in-flight limits, acks, retries, parking."""

from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from app.domain.group_delivery import (
    EventNotInFlightError,
    GroupSettings,
    GroupState,
    NackAction,
    Strategy,
)


@dataclass(frozen=True)
class Ev:
    position: int
    event_id: UUID


def events(*positions: int) -> list[Ev]:
    return [Ev(p, uuid4()) for p in positions]


def group(**settings: object) -> GroupState[Ev]:
    return GroupState(GroupSettings(**settings), checkpoint=1)  # type: ignore[arg-type]


def test_round_robin_alternates_and_acks_advance_the_checkpoint() -> None:
    state = group()
    state.add_consumer("a")
    state.add_consumer("b")
    batch = events(1, 2, 3, 4)
    state.offer(batch, next_cursor=5)
    sent = state.dispatch(now=0)
    assert [(d.consumer, d.event.position) for d in sent] == [
        ("a", 1),
        ("b", 2),
        ("a", 3),
        ("b", 4),
    ]
    assert state.checkpoint == 1
    state.ack("b", [batch[1].event_id])
    assert state.checkpoint == 1  # 1 is still open: out-of-order acks do not skip it
    state.ack("a", [batch[0].event_id, batch[2].event_id])
    assert state.checkpoint == 4
    state.ack("b", [batch[3].event_id])
    assert state.checkpoint == 5


def test_dispatch_to_single_fills_the_first_consumer_before_the_next() -> None:
    state = group(strategy=Strategy.DISPATCH_TO_SINGLE, max_in_flight=2)
    state.add_consumer("a")
    state.add_consumer("b")
    state.offer(events(1, 2, 3), next_cursor=4)
    assert [d.consumer for d in state.dispatch(0)] == ["a", "a", "b"]


def test_in_flight_limit_holds_events_back_until_acked() -> None:
    state = group(max_in_flight=2)
    state.add_consumer("a", max_in_flight=5)  # may ask for fewer, not more
    batch = events(1, 2, 3)
    state.offer(batch, 4)
    assert [d.event.position for d in state.dispatch(0)] == [1, 2]
    assert state.dispatch(0) == []
    state.ack("a", [batch[0].event_id])
    assert [d.event.position for d in state.dispatch(0)] == [3]


def test_ack_timeout_redelivers_then_parks_after_max_retries() -> None:
    state = group(ack_timeout=1.0, max_retries=1)
    state.add_consumer("a")
    [event] = events(1)
    state.offer([event], 2)
    assert state.dispatch(0)[0].retry_count == 0
    assert state.expire(0.5) == 0
    assert state.expire(1.0) == 1
    again = state.dispatch(1.0)
    assert [(d.event.position, d.retry_count) for d in again] == [(1, 1)]
    state.expire(2.0)
    assert state.dispatch(2.0) == []
    [parked] = state.take_parked()
    assert parked.event == event and parked.retries == 2 and "ack timeout" in parked.reason
    assert state.checkpoint == 2
    with pytest.raises(EventNotInFlightError):
        state.ack("a", [event.event_id])  # late: it was parked


def test_nack_retry_park_skip() -> None:
    state = group(max_retries=3)
    state.add_consumer("a")
    retry, park, skip = events(1, 2, 3)
    state.offer([retry, park, skip], 4)
    state.dispatch(0)
    state.nack("a", [retry.event_id], NackAction.RETRY)
    state.nack("a", [park.event_id], NackAction.PARK, "bad payload")
    state.nack("a", [skip.event_id], NackAction.SKIP)
    assert [(d.event.position, d.retry_count) for d in state.dispatch(0)] == [(1, 1)]
    [parked] = state.take_parked()
    assert parked.event == park and parked.reason == "bad payload"
    assert state.checkpoint == 1
    state.ack("a", [retry.event_id])
    assert state.checkpoint == 4


def test_unknown_or_foreign_event_ids_are_refused_and_change_nothing() -> None:
    state = group()
    state.add_consumer("a")
    state.add_consumer("b")
    first, second = events(1, 2)
    state.offer([first, second], 3)
    state.dispatch(0)  # a has 1, b has 2
    with pytest.raises(EventNotInFlightError):
        state.ack("a", [first.event_id, second.event_id])
    with pytest.raises(EventNotInFlightError):
        state.ack("a", [uuid4()])
    assert state.in_flight("a") == 1 and state.checkpoint == 1


def test_a_consumer_that_leaves_has_its_events_redelivered_to_others() -> None:
    state = group(strategy=Strategy.DISPATCH_TO_SINGLE)
    state.add_consumer("a")
    state.add_consumer("b")
    batch = events(1, 2)
    state.offer(batch, 3)
    assert {d.consumer for d in state.dispatch(0)} == {"a"}
    state.remove_consumer("a")
    again = state.dispatch(0)
    assert [(d.consumer, d.event.position, d.retry_count) for d in again] == [
        ("b", 1, 1),
        ("b", 2, 1),
    ]


def test_replayed_parked_events_do_not_hold_back_the_checkpoint() -> None:
    state = group()
    state.add_consumer("a")
    [old] = events(1)
    state.offer([], 10)
    state.offer_replayed([old])
    assert state.checkpoint == 10
    [delivery] = state.dispatch(0)
    assert delivery.retry_count == 0
    state.ack("a", [old.event_id])
    assert state.take_finished_replays() == [1]


def test_reading_stops_while_the_buffer_is_full() -> None:
    state = GroupState[Ev](GroupSettings(), checkpoint=1, buffer_size=2)
    state.offer(events(1), 2)
    assert state.wants_more
    state.offer(events(2), 3)
    assert not state.wants_more
    state.offer(events(1, 2), 3)  # already held: not duplicated
    state.add_consumer("a")
    assert [d.event.position for d in state.dispatch(0)] == [1, 2]
