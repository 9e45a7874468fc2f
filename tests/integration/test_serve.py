"""`chronicle serve` as a user runs it: embedded PostgreSQL, clean stop, data kept on restart,
and secure by default: the first start prints an admin key once, and nothing works without it."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import websockets

from tests.conftest import free_port
from tests.support import TIMEOUT, wait_for

KEY = re.compile(r"\bchr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\b")


class Served:
    """A ``chronicle serve`` process whose stderr is collected as it is written."""

    def __init__(self, args: list[str], data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
        env |= {"CHRONICLE_DATA_DIR": str(data_dir), "CHRONICLE_PORT": str(port)}
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    async def ready(self) -> None:
        async def up() -> bool:
            assert self.process.poll() is None, self.stderr
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{self.base}/health")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_for(up, TIMEOUT * 3, "chronicle serve to answer /health")

    def stop(self) -> str:
        """Ctrl+C, as a user would; the server must exit cleanly."""
        self.process.send_signal(signal.SIGINT)
        return self.finish()

    def finish(self) -> str:
        self.process.wait(timeout=TIMEOUT * 2)
        self._reader.join(TIMEOUT)
        assert self.process.returncode == 0, self.stderr
        return self.stderr


@contextmanager
def serving(data_dir: Path, port: int, *args: str) -> Iterator[Served]:
    served = Served(list(args), data_dir, port)
    try:
        yield served
    finally:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait()
        served._reader.join(TIMEOUT)
        assert served.process.stderr is not None
        served.process.stderr.close()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_serve_embedded_keeps_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pgdata = tmp_path / "pgdata"

    with serving(tmp_path, port) as served:
        await served.ready()
        keys = KEY.findall(served.stderr)
        # Printed once, with how to use it; never in a structured log line.
        assert len(set(keys)) == 1, served.stderr
        assert "Authorization: Bearer" in served.stderr
        assert not [line for line in served.lines if keys[0] in line and "{" in line]
        key = keys[0]
        async with httpx.AsyncClient(base_url=base) as anonymous:
            refused = await anonymous.post("/chronicles", json={"name": "lab"})
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert (await anonymous.get("/health")).status_code == 200
        async with httpx.AsyncClient(base_url=base, headers=auth(key)) as http:
            assert (await http.get("/ready")).status_code == 200
            assert (await http.post("/chronicles", json={"name": "lab"})).status_code == 201
            published = await http.post(
                "/chronicles/lab/streams/room1/events",
                json={"events": [{"type": "temp", "data": {"c": 21}}]},
            )
            assert published.status_code == 201
        log = served.stop()
    assert "embedded_postgres_stopping" in log
    # The embedded server shut down cleanly: no postmaster left behind.
    assert not (pgdata / "postmaster.pid").exists()

    with serving(tmp_path, port) as served:
        await served.ready()
        assert not KEY.search(served.stderr), "a second start must not make another admin key"
        async with httpx.AsyncClient(base_url=base, headers=auth(key)) as http:
            event = (await http.get("/chronicles/lab/streams/room1/events/0")).json()
            assert event["data"] == {"c": 21}
            assert event["event_id"] == published.json()["events"][0]["event_id"]
        # A live subscriber is told why when the server stops, not just dropped.
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws", additional_headers=auth(key)
        ) as ws:
            subscribe = {"chronicle": "lab", "stream": "room1", "start": "end"}
            await ws.send(
                json.dumps({"type": "call", "id": 1, "method": "subscribe", "params": subscribe})
            )
            assert json.loads(await ws.recv())["data"]["kind"] == "subscribed"
            served.process.send_signal(signal.SIGINT)
            frames = [json.loads(f) async for f in ws]
            assert {"type": "end", "id": 1}.items() <= frames[-1].items(), frames
            assert frames[-1]["result"]["reason"] == "shutdown"
            assert ws.close_code == 1001
        served.finish()


async def test_serve_with_two_workers_answers_and_stops(tmp_path: Path) -> None:
    port = free_port()
    with serving(tmp_path, port, "--workers", "2") as served:
        await served.ready()
        await wait_for(
            _async(lambda: bool(KEY.search(served.stderr))), TIMEOUT, "the admin key banner"
        )
        key = KEY.findall(served.stderr)[0]
        async with httpx.AsyncClient(base_url=served.base, headers=auth(key)) as http:
            assert (await http.post("/chronicles", json={"name": "lab"})).status_code == 201
            for n in range(20):  # spread over both workers by the kernel
                published = await http.post(
                    f"/chronicles/lab/streams/s{n}/events", json={"events": [{"type": "t"}]}
                )
                assert published.status_code == 201, published.text
        log = served.stop()
    # Both workers started; the embedded PostgreSQL was started once and stopped once;
    # the two workers raced to make the first admin, and one key was made.
    assert log.count("service_started") == 2
    assert log.count("embedded_postgres_stopping") == 1
    assert len(set(KEY.findall(log))) == 1


async def test_serve_warns_loudly_when_auth_is_off_on_a_network_address(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
    env |= {
        "CHRONICLE_DATA_DIR": str(tmp_path),
        "CHRONICLE_PORT": str(port),
        "CHRONICLE_AUTH_ENABLED": "false",
        "CHRONICLE_HOST": "0.0.0.0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def open_to_anyone() -> bool:
                try:
                    return (await http.post("/chronicles", json={"name": "lab"})).status_code == 201
                except httpx.TransportError:
                    return False

            await wait_for(open_to_anyone, TIMEOUT * 3, "an open server")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=TIMEOUT * 2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "authentication is OFF" in err and "0.0.0.0" in err
    assert not KEY.search(err)


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def condition() -> bool:
        return check()

    return condition
