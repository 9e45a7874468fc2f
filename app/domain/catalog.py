"""Chronicles and streams as the domain sees them."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from app.domain.retention import Retention

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
    """Number of the last event ever written; -1 while the stream never held one."""
    event_count: int
    """Events a reader can see now (retention and deletes hide the oldest)."""
    first_recorded_at: int | None
    """Of the first visible event."""
    last_recorded_at: int | None
    created_at: datetime
    retention: Retention


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated listing; ``next`` continues it, None at the end."""

    items: list[T]
    next: str | None
