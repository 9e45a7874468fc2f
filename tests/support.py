"""Test helpers: one scaled time constant, fresh names, waiting on conditions."""

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

from app.domain.credentials import new_key

# Every wait in the tests is a multiple of this; raise CHRONICLE_TEST_TIME_SCALE on a slow box.
TIMEOUT = 10.0 * float(os.environ.get("CHRONICLE_TEST_TIME_SCALE", "1"))


# The server admin key of every server the tests start (CHRONICLE_ADMIN_KEY).
ADMIN_KEY = new_key().token
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


def fresh_name(prefix: str = "t") -> str:
    """A chronicle or stream name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database (query string, e.g. host=, kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


async def wait_for(
    condition: Callable[[], Awaitable[bool]], timeout: float = TIMEOUT, what: str = "condition"
) -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None
