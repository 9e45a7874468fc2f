"""Every unary hub method over a real WebSocket: same rules and error codes as REST."""

from collections.abc import AsyncIterator

import pytest

from app.client import CallError, Connection
from tests.integration.hub_servers import ws_url
from tests.support import fresh_name


@pytest.fixture
async def conn(server: str) -> AsyncIterator[Connection]:
    async with Connection(ws_url(server)) as c:
        yield c


async def test_ping_method_and_frame(conn: Connection) -> None:
    result = await conn.call("ping")
    assert result["pong"] is True and result["server_time"] > 0
    assert 0 < await conn.ping() < 5
