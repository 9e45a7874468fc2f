"""Migrations: upgrade, downgrade, upgrade again; the models and migrations agree."""

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import app.storage.tables  # noqa: F401  (registers the tables)
from app.storage import migrations
from app.storage.database import sqlalchemy_url
from tests.conftest import DatabaseFactory


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
