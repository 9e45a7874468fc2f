"""The README's persistent subscription example runs as written against a live server."""

import asyncio
import re
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.integration.persistent_support import create_group, publish, wait_for_group
from tests.support import ADMIN_KEY, TIMEOUT


async def test_persistent_example_runs(
    repo_root: Path,
    server: str,
    client: httpx.AsyncClient,
    chronicle: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHRONICLE_KEY", ADMIN_KEY)
    text = (repo_root / "README.md").read_text()
    block = re.search(r"<!-- persistent-example -->\n```python\n(.*?)```", text, re.S)
    assert block, "README lost its persistent subscription example"
    await create_group(client, chronicle, "billing")
    await publish(client, chronicle, "room1", {"celsius": 21.5})
    source = (
        block.group(1)
        .replace("ws://127.0.0.1:8000", server.replace("http://", "ws://"))
        .replace('"lab"', repr(chronicle))
    )
    namespace: dict[str, object] = {}
    exec(
        compile("async def example():\n" + textwrap.indent(source, "    "), "README", "exec"),
        namespace,
    )
    async with asyncio.timeout(TIMEOUT * 2):
        await namespace["example"]()  # type: ignore[operator]
    await wait_for_group(client, chronicle, "billing", in_flight=0, pending=0, consumers=0)
