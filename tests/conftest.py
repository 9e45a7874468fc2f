"""Fixtures: a real PostgreSQL (embedded unless CHRONICLE_TEST_DATABASE_URL), migrated once,
and a real uvicorn server on a free port. Tests isolate themselves with fresh names."""

import asyncio
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from hypothesis import settings as hypothesis_settings
from pydantic import SecretStr

from app.config import Settings
from app.main import create_app
from app.storage import migrations
from app.storage.embedded import EmbeddedPostgres
from tests.support import ADMIN_KEY, AUTH, TIMEOUT, fresh_name, with_database

# Property tests share 2 cores with PostgreSQL and the server: time limits would only flake.
hypothesis_settings.register_profile("chronicle", deadline=None)
hypothesis_settings.load_profile("chronicle")

# Small limits so the oversize tests stay cheap.
TEST_LIMITS = {
    "max_event_bytes": 64 * 1024,
    "max_events_per_publish": 50,
    "max_request_bytes": 1024 * 1024,
}


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database, on which tests create databases."""
    given = os.environ.get("CHRONICLE_TEST_DATABASE_URL")
    if given:
        yield given
        return
    # Not under pytest's numbered tmp dirs: a second pytest run on the same machine prunes
    # those, and would delete this server's data directory under it.
    data_dir = Path(tempfile.mkdtemp(prefix="chronicle-test-pg-"))
    embedded = EmbeddedPostgres(data_dir)
    url = embedded.start()
    try:
        yield with_database(url, "postgres")
    finally:
        embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def _create_database(server_url: str) -> str:
    name = f"chronicle_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)


async def _drop_database(server_url: str, url: str) -> None:
    name = url.split("?")[0].rsplit("/", 1)[1]
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def make_database(server_url: str) -> Iterator["DatabaseFactory"]:
    factory = DatabaseFactory(server_url)
    yield factory
    asyncio.run(factory.drop_all())


class DatabaseFactory:
    """Creates empty databases on the test server and drops them at the end of the session."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    async def create(self) -> str:
        url = await _create_database(self.server_url)
        self.created.append(url)
        return url

    async def drop_all(self) -> None:
        for url in self.created:
            await _drop_database(self.server_url, url)


@pytest.fixture(scope="session")
def database_url(make_database: DatabaseFactory) -> str:
    """A database migrated to head, shared by the session (tests use fresh names)."""
    url = asyncio.run(make_database.create())
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=SecretStr(database_url),
        log_json=False,
        admin_key=SecretStr(ADMIN_KEY),
        **TEST_LIMITS,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serving(server: uvicorn.Server) -> AsyncIterator[str]:
    """Run ``server`` in this event loop for the block; yields its base URL."""
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(TIMEOUT):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def server(settings: Settings) -> AsyncIterator[str]:
    """A real uvicorn server running the app on 127.0.0.1; yields its base URL."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=free_port(), log_config=None, lifespan="on"
    )
    async with serving(uvicorn.Server(config)) as base:
        yield base


@pytest.fixture
async def client(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with the server admin's key."""
    async with httpx.AsyncClient(base_url=server, timeout=TIMEOUT, headers=AUTH) as http:
        yield http


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Direct access for checks a client cannot make (e.g. that nothing was written)."""
    async with asyncpg.create_pool(database_url, min_size=1, max_size=4) as p:
        yield p


@pytest.fixture
async def chronicle(client: httpx.AsyncClient) -> str:
    """A fresh, empty chronicle."""
    name = fresh_name("c")
    response = await client.post("/chronicles", json={"name": name})
    assert response.status_code == 201, response.text
    return name


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
