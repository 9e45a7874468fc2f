"""A lean HTTP/1.1 load generator: one keep-alive connection per client, one request in flight.

The load generator shares the 2 cores with the server and PostgreSQL, so it spends as little
as it can per request: requests are prebuilt bytes and a response is read by its status line
and Content-Length only. Every HTTP figure and its HTTP ceiling use this same client.
"""

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    bodies: list[bytes]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


def post(path: str, body: bytes, host: str = "127.0.0.1", extra: str = "") -> bytes:
    """A keep-alive POST of a JSON body as raw bytes."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        body = await self.reader.readexactly(length) if length else b""
        return status, body


async def run_load(
    port: int,
    clients: int,
    seconds: float,
    make_request: Callable[[int], Callable[[bytes | None], bytes]],
    keep_bodies: int = 0,
) -> LoadResult:
    """``clients`` loops, each on its own connection, sending requests for ``seconds``.

    ``make_request(n)`` gives client n a function that builds its next request from the
    previous response body (None before the first), e.g. to follow a stream's version.
    """
    conns = [_Connection(*await asyncio.open_connection("127.0.0.1", port)) for _ in range(clients)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    bodies: list[bytes] = []
    deadline = time.perf_counter() + seconds

    async def client(n: int, conn: _Connection) -> None:
        next_request = make_request(n)
        previous: bytes | None = None
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, previous = await conn.request(next_request(previous))
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if len(bodies) < keep_bodies:
                bodies.append(previous)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(client(n, c) for n, c in enumerate(conns)))
    finally:
        for conn in conns:
            conn.writer.close()
    elapsed = time.perf_counter() - started
    return LoadResult(len(latencies), elapsed, latencies, statuses, bodies)


def json_body(value: object) -> bytes:
    return orjson.dumps(value)
