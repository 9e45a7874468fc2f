"""Servers a benchmark starts and stops: Chronicle itself, and the no-op FastAPI ceiling."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import free_port


@dataclass(frozen=True)
class Server:
    port: int
    pid: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _wait_ready(base: str, path: str) -> None:
    async with asyncio.timeout(60), httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(f"{base}{path}")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


@contextmanager
def _process(args: list[str], env: dict[str, str], port: int, ready: str) -> Iterator[Server]:
    process = subprocess.Popen(args, env={**os.environ, **env})
    try:
        asyncio.run(_wait_ready(f"http://127.0.0.1:{port}", ready))
        yield Server(port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)


@contextmanager
def chronicle_server(url: str, workers: int, **settings: str) -> Iterator[Server]:
    """``chronicle serve`` on ``url``'s database with ``workers`` uvicorn workers (uvloop,
    httptools), as in production; logging at warning, so no access log line per request.
    ``settings`` become CHRONICLE_* variables."""
    port = free_port()
    env = {
        "CHRONICLE_DATABASE_URL": url,
        "CHRONICLE_PORT": str(port),
        "CHRONICLE_WORKERS": str(workers),
        "CHRONICLE_LOG_LEVEL": "warning",
        # Benchmarks measure the store; auth has its own per-request cost.
        "CHRONICLE_AUTH_ENABLED": "false",
        **{f"CHRONICLE_{k.upper()}": v for k, v in settings.items()},
    }
    # /health answers once the lifespan (pool, listener) is up, with or without auth.
    with _process([sys.executable, "-m", "app", "serve"], env, port, "/health") as server:
        yield server


@contextmanager
def noop_server(workers: int) -> Iterator[Server]:
    """The FastAPI no-op ceiling (bench/noop_app.py) with ``workers`` workers."""
    port = free_port()
    args = [sys.executable, "-m", "bench.noop_app", "--port", str(port), "--workers", str(workers)]
    with _process(args, {}, port, "/health") as server:
        yield server


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        for task in Path(f"/proc/{current}/task").iterdir():
            children = (task / "children").read_text().split()
            pending += [int(c) for c in children]
    return total
