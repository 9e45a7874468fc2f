"""The dashboard in Debian's Chromium (playwright-core from frontend/node_modules) against a
real server process and PostgreSQL with auth on: sign-in, the whole lifecycle, a server
restart, sign-out, screenshots."""

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.support import ADMIN_KEY, TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")
PLAYWRIGHT = ROOT / "frontend" / "node_modules" / "playwright-core"

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} missing: apt-get install -y chromium"
    ),
    pytest.mark.skipif(NODE is None, reason="node is not on PATH"),
    pytest.mark.skipif(
        not PLAYWRIGHT.is_dir(), reason="frontend/node_modules missing: npm ci --prefix frontend"
    ),
    pytest.mark.skipif(
        not (ROOT / "app" / "dashboard_assets" / "index.html").is_file(),
        reason="dashboard not built: npm run build --prefix frontend",
    ),
]


class ServerProcess:
    """`uvicorn` serving the app on a fixed port, so it can be stopped and started again
    at the same address the browser keeps reconnecting to."""

    def __init__(self, database_url: str, auth: bool = True) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CHRONICLE_DATABASE_URL": database_url,
            "CHRONICLE_LOG_JSON": "false",
            "CHRONICLE_AUTH_ENABLED": "true" if auth else "false",
            "CHRONICLE_ADMIN_KEY": ADMIN_KEY,
        }
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "tests.integration.hub_servers:app_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )
        async with httpx.AsyncClient(base_url=self.base) as http, asyncio.timeout(TIMEOUT * 3):
            while True:
                assert self.process.poll() is None, "the server exited"
                try:
                    if (await http.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)  # polling the condition, not waiting for time

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, TIMEOUT)
        self.process = None


@asynccontextmanager
async def server_process(database_url: str, auth: bool = True) -> AsyncIterator[ServerProcess]:
    server = ServerProcess(database_url, auth)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def run_flow(server: ServerProcess, flow: str, timeout: float) -> None:
    """Run dashboard_flow.mjs's `flow` against `server`, stopping and starting the server
    when it asks; fails with the flow's transcript unless it ends with "ok"."""
    assert NODE is not None
    browser = await asyncio.create_subprocess_exec(
        NODE,
        str(HERE / "dashboard_flow.mjs"),
        cwd=ROOT,
        env={
            **os.environ,
            "BASE_URL": server.base,
            "SCREENSHOTS": str(HERE / "screenshots"),
            "CHROMIUM": CHROMIUM,
            "CHRONICLE_KEY": ADMIN_KEY,
            "FLOW": flow,
        },
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert browser.stdin is not None and browser.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            async for raw in browser.stdout:
                line = raw.decode().rstrip()
                output.append(line)
                if line == "stop-server":
                    await server.stop()
                elif line == "start-server":
                    await server.start()
                else:
                    continue
                browser.stdin.write(f"{line} done\n".encode())
                await browser.stdin.drain()
            code = await browser.wait()
    except TimeoutError:
        pytest.fail("browser flow timed out:\n" + "\n".join(output))
    finally:
        if browser.returncode is None:
            browser.kill()
            await browser.wait()
    transcript = "\n".join(output)
    assert code == 0, f"browser flow failed:\n{transcript}"
    assert output[-1] == "ok", transcript


async def test_dashboard_lifecycle(database_url: str) -> None:
    async with server_process(database_url) as server:
        await run_flow(server, "lifecycle", TIMEOUT * 12)
    for name in (
        "dashboard-signin.png",
        "dashboard.png",
        "dashboard-conflict.png",
        "dashboard-live.png",
        "dashboard-narrow.png",
    ):
        assert (HERE / "screenshots" / name).stat().st_size > 0


async def test_dashboard_with_auth_off_asks_for_nothing(database_url: str) -> None:
    async with server_process(database_url, auth=False) as server:
        await run_flow(server, "auth-off", TIMEOUT * 4)
