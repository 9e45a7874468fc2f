"""A fresh, migrated database for one benchmark run, dropped afterwards."""

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from app.storage import migrations
from app.storage.embedded import EmbeddedPostgres
from tests.support import with_database


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def bench_database() -> Iterator[str]:
    """The URL of a new database on CHRONICLE_BENCH_DATABASE_URL's server (a maintenance
    database URL), or on an embedded PostgreSQL when it is unset."""
    server = os.environ.get("CHRONICLE_BENCH_DATABASE_URL")
    embedded = None
    if server is None:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="chronicle-bench-")))
        server = with_database(embedded.start(), "postgres")
    name = f"chronicle_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        url = with_database(server, name)
        migrations.upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if embedded is not None:
            embedded.stop()
