"""`chronicle serve` as a user runs it: embedded PostgreSQL, clean stop, data kept on restart."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import websockets

from tests.conftest import free_port
from tests.support import TIMEOUT, wait_for


@contextmanager
def serving(data_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
    env |= {"CHRONICLE_DATA_DIR": str(data_dir), "CHRONICLE_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async def ready() -> bool:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"{base}/ready")).status_code == 200
        except httpx.TransportError:
            return False

    await wait_for(ready, TIMEOUT * 3, "chronicle serve to become ready")


def stop(process: subprocess.Popen[bytes]) -> str:
    """Ctrl+C, as a user would; the server must exit cleanly."""
    process.send_signal(signal.SIGINT)
    return finish(process)


def finish(process: subprocess.Popen[bytes]) -> str:
    _, err = process.communicate(timeout=TIMEOUT * 2)
    assert process.returncode == 0, err.decode()
    return err.decode()


async def test_serve_embedded_keeps_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pgdata = tmp_path / "pgdata"

    with serving(tmp_path, port) as process:
        await wait_ready(base, process)
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.post("/chronicles", json={"name": "lab"})).status_code == 201
            published = await http.post(
                "/chronicles/lab/streams/room1/events",
                json={"events": [{"type": "temp", "data": {"c": 21}}]},
            )
            assert published.status_code == 201
        log = stop(process)
    assert "embedded_postgres_stopping" in log
    # The embedded server shut down cleanly: no postmaster left behind.
    assert not (pgdata / "postmaster.pid").exists()

    with serving(tmp_path, port) as process:
        await wait_ready(base, process)
        async with httpx.AsyncClient(base_url=base) as http:
            event = (await http.get("/chronicles/lab/streams/room1/events/0")).json()
            assert event["data"] == {"c": 21}
            assert event["event_id"] == published.json()["events"][0]["event_id"]
        # A live subscriber is told why when the server stops, not just dropped.
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
            subscribe = {"chronicle": "lab", "stream": "room1", "start": "end"}
            await ws.send(
                json.dumps({"type": "call", "id": 1, "method": "subscribe", "params": subscribe})
            )
            assert json.loads(await ws.recv())["data"]["kind"] == "subscribed"
            process.send_signal(signal.SIGINT)
            frames = [json.loads(f) async for f in ws]
            assert {"type": "end", "id": 1}.items() <= frames[-1].items(), frames
            assert frames[-1]["result"]["reason"] == "shutdown"
            assert ws.close_code == 1001
        finish(process)


async def test_serve_with_two_workers_answers_and_stops(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
    env |= {"CHRONICLE_DATA_DIR": str(tmp_path), "CHRONICLE_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await wait_ready(base, process)
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.post("/chronicles", json={"name": "lab"})).status_code == 201
            for n in range(20):  # spread over both workers by the kernel
                published = await http.post(
                    f"/chronicles/lab/streams/s{n}/events", json={"events": [{"type": "t"}]}
                )
                assert published.status_code == 201, published.text
        log = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Both workers started; the embedded PostgreSQL was started once and stopped once.
    assert log.count("service_started") == 2
    assert log.count("embedded_postgres_stopping") == 1
