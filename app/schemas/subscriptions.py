"""Wire models of persistent subscriptions (consumer groups) and their parked events."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.domain.group_delivery import (
    MAX_ACK_TIMEOUT,
    MAX_IN_FLIGHT,
    MAX_RETRIES,
    MIN_ACK_TIMEOUT,
    Group,
    GroupSettings,
    ParkedEvent,
    Strategy,
)
from app.domain.names import STREAM_NAME_PATTERN
from app.schemas.events import PRINTABLE_PATTERN, EventOut, WholeNumber

# Strict: JSON true is not 1, nor "5" a number.
AckTimeout = Annotated[float, Field(strict=True, ge=MIN_ACK_TIMEOUT, le=MAX_ACK_TIMEOUT)]
Retries = Annotated[int, Field(strict=True, ge=0, le=MAX_RETRIES)]
InFlight = Annotated[int, Field(strict=True, ge=1, le=MAX_IN_FLIGHT)]

_ACK_TIMEOUT = "Seconds an event may stay unacked before it is delivered again"
_MAX_RETRIES = "Deliveries after the first; the next failure parks the event"
_MAX_IN_FLIGHT = "Unacked events per consumer"
_STRATEGY = (
    "`round_robin`: each event to the next consumer with room; `dispatch_to_single`: to the "
    "first consumer (in join order) with room, the next only once it is full"
)


class SubscriptionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ack_timeout: AckTimeout = Field(default=30.0, description=_ACK_TIMEOUT)
    max_retries: Retries = Field(default=10, description=_MAX_RETRIES)
    max_in_flight: InFlight = Field(default=10, description=_MAX_IN_FLIGHT)
    strategy: Strategy = Field(default=Strategy.ROUND_ROBIN, description=_STRATEGY)

    def to_settings(self) -> GroupSettings:
        return GroupSettings(
            ack_timeout=self.ack_timeout,
            max_retries=self.max_retries,
            max_in_flight=self.max_in_flight,
            strategy=self.strategy,
        )

    @classmethod
    def of(cls, settings: GroupSettings) -> "SubscriptionSettings":
        return cls(
            ack_timeout=settings.ack_timeout,
            max_retries=settings.max_retries,
            max_in_flight=settings.max_in_flight,
            strategy=settings.strategy,
        )


class SubscriptionPatch(BaseModel):
    """Settings to change; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")

    ack_timeout: AckTimeout | None = Field(default=None, description=_ACK_TIMEOUT)
    max_retries: Retries | None = Field(default=None, description=_MAX_RETRIES)
    max_in_flight: InFlight | None = Field(default=None, description=_MAX_IN_FLIGHT)
    strategy: Strategy | None = Field(default=None, description=_STRATEGY)

    def changes(self) -> dict[str, Any]:
        """The settings to change, as ``storage.groups.update_group`` takes them."""
        return {
            "ack_timeout": self.ack_timeout,
            "max_retries": self.max_retries,
            "max_in_flight": self.max_in_flight,
            "strategy": self.strategy,
        }


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    types: (
        list[Annotated[str, StringConstraints(max_length=512, pattern=PRINTABLE_PATTERN)]] | None
    ) = Field(
        default=None,
        min_length=1,
        description="Type patterns (`?` one segment, `*` the rest); any matches. "
        "Absent: every type",
        examples=[["sensor/*"]],
    )
    start: Literal["start", "end"] | WholeNumber = Field(
        default="end",
        description='"start": from the first event; "end": only events committed after the '
        "group is created; a number: from that global position",
    )
    settings: SubscriptionSettings = Field(default_factory=SubscriptionSettings)

    def group_options(self) -> dict[str, Any]:
        """What ``storage.groups.create_group`` takes besides the group's name and place."""
        return {
            "stream": None,
            "types": self.types,
            "start": self.start,
            "settings": self.settings.to_settings(),
        }


class ChronicleSubscriptionIn(SubscriptionIn):
    stream: str | None = Field(
        default=None,
        pattern=STREAM_NAME_PATTERN,
        description="Only this stream's events (it need not exist yet); absent: the chronicle's",
    )

    def group_options(self) -> dict[str, Any]:
        return {**super().group_options(), "stream": self.stream}


class SubscriptionOut(BaseModel):
    name: str
    chronicle: str | None = Field(description="null: the group follows every chronicle")
    stream: str | None
    types: list[str] | None
    start: Literal["start", "end"] | int
    settings: SubscriptionSettings
    checkpoint: int = Field(
        description="Every position below this is acked, skipped or parked: a restart "
        "redelivers nothing below it"
    )
    read_position: int = Field(description="The next position the group reads ahead from")
    pending: int = Field(description="Events read ahead, waiting for a consumer with room")
    in_flight: int = Field(description="Events delivered and not yet acked")
    parked: int
    consumers: int = Field(description="Consumers connected now, on every server process")
    created_at: datetime

    @classmethod
    def of(cls, group: Group) -> "SubscriptionOut":
        return cls(
            name=group.name,
            chronicle=group.chronicle,
            stream=group.stream,
            types=group.types,
            start=group.start,
            settings=SubscriptionSettings.of(group.settings),
            checkpoint=group.checkpoint,
            read_position=group.read_position,
            pending=group.pending,
            in_flight=group.in_flight,
            parked=group.parked,
            consumers=group.consumers,
            created_at=group.created_at,
        )


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next: str | None = Field(description="Pass as `after` for the next page; null at the end")


class ParkedEventOut(BaseModel):
    event: EventOut
    retry_count: int = Field(description="Retries it had when it was parked")
    reason: str
    parked_at: datetime

    @classmethod
    def of(cls, parked: ParkedEvent) -> "ParkedEventOut":
        return cls(
            event=EventOut.of(parked.event),
            retry_count=parked.retries,
            reason=parked.reason,
            parked_at=parked.parked_at,
        )


class ParkedPage(BaseModel):
    items: list[ParkedEventOut]
    next: int | None = Field(description="Pass as `after` for the next page; null at the end")

    @classmethod
    def of(cls, parked: list[ParkedEvent], following: int | None) -> "ParkedPage":
        return cls(items=[ParkedEventOut.of(p) for p in parked], next=following)


class ReplayOut(BaseModel):
    replayed: int = Field(description="Parked events moved back to delivery")
