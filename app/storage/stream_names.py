"""Stream and chronicle names by stream id, for readers that page through events alone.

A stream's name and its chronicle's never change and stream ids are never reused, so a
reader that follows the log (a catch-up, the live fan-out) reads them once per stream and
keeps them: its pages are then plain ranges of the events index, with no join per event.
"""

from collections.abc import Callable, Collection, Mapping
from typing import Generic, TypeVar

import asyncpg

T = TypeVar("T")

MAX_NAMES = 10_000
"""Streams whose names one reader keeps (past that it forgets all but what a page needs)."""

_NAMES = """SELECT s.id, c.name, s.name FROM streams s JOIN chronicles c ON c.id = s.chronicle_id
WHERE s.id = ANY($1::bigint[])"""


def named(chronicle: str, stream: str) -> tuple[str, str]:
    """The names as they are, for ``StreamNames(named)``."""
    return chronicle, stream


class StreamNames(Generic[T]):
    """Stream id -> ``render(chronicle, stream)``, read on first need and kept."""

    def __init__(self, render: Callable[[str, str], T], max_names: int = MAX_NAMES) -> None:
        self._render = render
        self._max_names = max_names
        self._names: dict[int, T] = {}

    async def of(
        self, conn: asyncpg.Pool | asyncpg.Connection, ids: Collection[int]
    ) -> Mapping[int, T]:
        """The names of ``ids``; a stream missing from the answer went with its chronicle
        since its events were read (a cascade), and a read an instant later would not
        see its events either."""
        names = self._names
        unknown = set(ids) - names.keys()
        if unknown:
            if len(names) + len(unknown) > self._max_names:
                # Forget all but what this page needs, which is read again with the rest.
                names.clear()
                unknown = set(ids)
            for sid, chronicle, stream in await conn.fetch(_NAMES, list(unknown)):
                names[sid] = self._render(chronicle, stream)
        return names
