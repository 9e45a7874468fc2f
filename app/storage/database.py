"""Connection pool and URL handling for PostgreSQL through asyncpg."""

from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.config import Settings


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
