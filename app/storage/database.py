"""Connection pool and URL handling for PostgreSQL through asyncpg."""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.config import Settings
from app.errors import InvalidInputError


def sqlalchemy_url(dsn: str) -> str:
    """The same URL with SQLAlchemy's asyncpg driver name (for Alembic)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg"))


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """A pool sized by the settings. JSON is passed through as text: the edges encode it."""
    pool = await asyncpg.create_pool(
        settings.database_dsn(),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        command_timeout=60,
    )
    assert pool is not None
    return pool


@contextmanager
def refused_values() -> Iterator[None]:
    """Translate PostgreSQL's refusal of a value (e.g. \\u0000 in JSON) into InvalidInputError."""
    try:
        yield
    except (
        asyncpg.UntranslatableCharacterError,
        asyncpg.CharacterNotInRepertoireError,
        asyncpg.InvalidTextRepresentationError,
    ) as error:
        raise InvalidInputError(
            f"PostgreSQL cannot store this value: {error.args[0] if error.args else error}"
        ) from error
