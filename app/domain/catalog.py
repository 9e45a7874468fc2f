"""Chronicles and streams as the domain sees them."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Chronicle:
    name: str
    attributes: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Stream:
    chronicle: str
    name: str
    attributes: dict[str, Any]
    version: int
    """Number of the last event; -1 while the stream holds none."""
    first_recorded_at: int | None
    last_recorded_at: int | None
    created_at: datetime

    @property
    def event_count(self) -> int:
        # Versions are gap-free from 0, so the count follows from the last one.
        return self.version + 1


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated listing; ``next`` continues it, None at the end."""

    items: list[T]
    next: str | None
