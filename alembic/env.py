"""Alembic environment: the schema is SQLModel.metadata, the URL comes from Settings."""

import asyncio

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import app.storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from alembic import context
from app.config import Settings
from app.storage.database import sqlalchemy_url

# Any constant will do; it only has to be the same in every process that migrates.
_MIGRATION_LOCK = 7_205_420_001

target_metadata = SQLModel.metadata


def _url() -> str:
    url = context.config.attributes.get("database_url")
    return str(url) if url else Settings().database_dsn()


def _run(connection: Connection) -> None:
    # Several server processes may start at once; let one migrate while the others wait.
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
    try:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
        connection.commit()


async def _run_online() -> None:
    engine = create_async_engine(sqlalchemy_url(_url()))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=sqlalchemy_url(_url()), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
