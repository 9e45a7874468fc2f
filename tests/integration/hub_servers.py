"""Helpers for hub tests: WebSocket URLs, extra in-process servers, a uvicorn subprocess."""

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from app.config import Settings
from app.hub.coalescing import CoalescingWebSocketProtocol
from app.hub.server import GracefulServer
from app.main import create_app
from tests.conftest import free_port, serving
from tests.support import ADMIN_KEY, AUTH, TIMEOUT


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://", 1) + "/ws"


def app_from_env() -> FastAPI:
    """The factory the subprocess server runs (settings from CHRONICLE_* variables)."""
    return create_app(Settings())


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[tuple[str, GracefulServer]]:
    """An extra in-process server with its own settings; yields (base URL, server)."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=free_port(),
        log_config=None,
        ws=CoalescingWebSocketProtocol,  # as `chronicle serve` runs it
    )
    server = GracefulServer(config, app)
    async with serving(server) as base:
        yield base, server


@asynccontextmanager
async def uvicorn_process(database_url: str, **settings: str) -> AsyncIterator[str]:
    """A second server as a real separate uvicorn process on the same database;
    ``settings`` become CHRONICLE_* variables."""
    async with uvicorn_subprocess(database_url, **settings) as (base, _):
        yield base


@asynccontextmanager
async def uvicorn_subprocess(
    database_url: str, **settings: str
) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """As uvicorn_process, also yielding the process (to kill it without a goodbye)."""
    port = free_port()
    env = {
        **os.environ,
        "CHRONICLE_DATABASE_URL": database_url,
        "CHRONICLE_LOG_JSON": "false",
        "CHRONICLE_ADMIN_KEY": ADMIN_KEY,
        **{f"CHRONICLE_{k.upper()}": v for k, v in settings.items()},
    }
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tests.integration.hub_servers:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=root,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with (
            httpx.AsyncClient(base_url=base, headers=AUTH) as http,
            asyncio.timeout(TIMEOUT * 3),
        ):
            while True:
                assert process.poll() is None, "the second server exited"
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        yield base, process
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, TIMEOUT)
