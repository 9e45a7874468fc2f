"""The README's persistent subscription example runs as written against a live server."""

from pathlib import Path

import httpx
import pytest

from tests.integration.persistent_support import create_group, publish, wait_for_group
from tests.integration.test_readme import run_python_example


async def test_persistent_example_runs(
    repo_root: Path,
    server: str,
    client: httpx.AsyncClient,
    chronicle: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_group(client, chronicle, "billing")
    await publish(client, chronicle, "room1", {"celsius": 21.5})
    await run_python_example(repo_root, "persistent-example", server, chronicle, monkeypatch)
    await wait_for_group(client, chronicle, "billing", in_flight=0, pending=0, consumers=0)
