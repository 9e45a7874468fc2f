"""A Chronicle server as a subprocess (``python -m app serve``) for the read benchmarks."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.publish_http import wait_ready
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def chronicle_server(url: str, workers: int, **settings: str) -> Iterator[tuple[str, int]]:
    """Serve ``url``'s database with ``workers`` processes; yields (base URL, server pid).
    ``settings`` become CHRONICLE_* variables. Authentication is off: the benchmarks
    measure the read paths, not key checks."""
    port = free_port()
    env = {
        **os.environ,
        "CHRONICLE_DATABASE_URL": url,
        "CHRONICLE_PORT": str(port),
        "CHRONICLE_WORKERS": str(workers),
        "CHRONICLE_LOG_LEVEL": "warning",
        "CHRONICLE_AUTH_ENABLED": "false",
        **{f"CHRONICLE_{k.upper()}": v for k, v in settings.items()},
    }
    server = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_ready(base))
        yield base, server.pid
    finally:
        server.terminate()
        server.wait()


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
