"""Migrations: upgrade, downgrade, upgrade again; the models and migrations agree."""

import asyncio

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import app.storage.tables  # noqa: F401  (registers the tables)
from app.storage import migrations
from app.storage.database import sqlalchemy_url
from tests.conftest import DatabaseFactory
from tests.support import fresh_name


async def _tables_and_diff(url: str) -> tuple[set[str], list[object]]:
    engine = create_async_engine(sqlalchemy_url(url))

    def inspect(connection: Connection) -> tuple[set[str], list[object]]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        tables = set(connection.dialect.get_table_names(connection))
        return tables, compare_metadata(context, SQLModel.metadata)

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(inspect)
    finally:
        await engine.dispose()


def test_upgrade_downgrade_upgrade_without_drift(make_database: DatabaseFactory) -> None:
    url = asyncio.run(make_database.create())
    migrations.upgrade(url)
    tables, diff = asyncio.run(_tables_and_diff(url))
    assert {"chronicles", "streams", "events"} <= tables
    assert diff == [], f"models and migrations disagree: {diff}"

    migrations.downgrade(url, "base")
    tables, _ = asyncio.run(_tables_and_diff(url))
    assert tables == {"alembic_version"}

    migrations.upgrade(url)
    tables, diff = asyncio.run(_tables_and_diff(url))
    assert {"chronicles", "streams", "events"} <= tables and diff == []


async def test_an_events_chronicle_is_its_streams(pool: asyncpg.Pool) -> None:
    """One composite key (migration 0006): an event row naming another chronicle than its
    stream's is refused, and deleting a chronicle still takes its events with it."""
    async with pool.acquire() as conn:
        first, second = [
            await conn.fetchval("INSERT INTO chronicles (name) VALUES ($1) RETURNING id", name)
            for name in (fresh_name("fk"), fresh_name("fk"))
        ]
        stream = await conn.fetchval(
            "INSERT INTO streams (chronicle_id, name) VALUES ($1, 's') RETURNING id", first
        )
        insert = (
            "INSERT INTO events (position, event_id, chronicle_id, stream_id, version, type, "
            "data, content_type, recorded_at) VALUES (nextval('events_position_seq'), "
            "gen_random_uuid(), $1, $2, 0, 't', '1', 'application/json', 0) RETURNING position"
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.fetchval(insert, second, stream)
        position = await conn.fetchval(insert, first, stream)
        await conn.execute("DELETE FROM chronicles WHERE id = $1", first)
        assert await conn.fetchval("SELECT count(*) FROM events WHERE position = $1", position) == 0
