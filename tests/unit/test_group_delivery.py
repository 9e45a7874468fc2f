"""Consumer-group rules: settings bounds, and which consumer gets each event."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.group_delivery import ConsumerRoom, GroupSettings, Strategy, assign
from app.errors import InvalidInputError


def rooms(**room: int) -> list[ConsumerRoom[str]]:
    return [ConsumerRoom(name, n) for name, n in room.items()]


def test_round_robin_alternates_and_remembers_whose_turn_it_is() -> None:
    chosen, turn = assign(5, rooms(a=10, b=10), Strategy.ROUND_ROBIN, turn=0)
    assert chosen == ["a", "b", "a", "b", "a"]
    # The next dispatch goes on where this one stopped.
    chosen, turn = assign(2, rooms(a=10, b=10), Strategy.ROUND_ROBIN, turn=turn)
    assert chosen == ["b", "a"] and turn == 1


def test_round_robin_skips_full_consumers() -> None:
    chosen, _ = assign(4, rooms(a=1, b=0, c=5), Strategy.ROUND_ROBIN, turn=1)
    assert chosen == ["c", "a", "c", "c"]


def test_dispatch_to_single_fills_the_first_consumer_before_the_next() -> None:
    chosen, turn = assign(3, rooms(a=2, b=2), Strategy.DISPATCH_TO_SINGLE, turn=0)
    assert chosen == ["a", "a", "b"] and turn == 0


def test_no_room_or_no_consumer_assigns_nothing() -> None:
    assert assign(3, rooms(a=0, b=-1), Strategy.ROUND_ROBIN, turn=0) == ([], 0)
    assert assign(3, [], Strategy.DISPATCH_TO_SINGLE, turn=4) == ([], 4)
    assert assign(0, rooms(a=3), Strategy.ROUND_ROBIN, turn=0) == ([], 0)


@given(
    pending=st.integers(0, 50),
    room=st.lists(st.integers(-2, 10), max_size=6),
    strategy=st.sampled_from(Strategy),
    turn=st.integers(0, 20),
)
def test_assignments_respect_room_and_use_all_of_it(
    pending: int, room: list[int], strategy: Strategy, turn: int
) -> None:
    consumers = [ConsumerRoom(i, r) for i, r in enumerate(room)]
    chosen, _ = assign(pending, consumers, strategy, turn)
    for consumer in consumers:
        assert chosen.count(consumer.consumer) <= max(0, consumer.room)
    assert len(chosen) == min(pending, sum(max(0, r) for r in room))


@pytest.mark.parametrize(
    "settings",
    [
        {"ack_timeout": 0},
        {"ack_timeout": 0.001},
        {"ack_timeout": -1.0},
        {"ack_timeout": 1e9},
        {"max_retries": -1},
        {"max_in_flight": 0},
        {"max_in_flight": 10**6},
    ],
)
def test_settings_out_of_bounds_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(InvalidInputError):
        GroupSettings(**settings)  # type: ignore[arg-type]


def test_default_settings_are_valid() -> None:
    assert GroupSettings().strategy is Strategy.ROUND_ROBIN
