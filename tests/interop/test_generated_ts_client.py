"""The TypeScript client (openapi-typescript types from the committed openapi/openapi.json,
openapi-fetch, `tsc --strict`) runs the lifecycle in interop/ts-client/src/lifecycle.ts
against a live server subprocess. Needs `npm ci --prefix interop/ts-client`."""

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.integration.hub_servers import uvicorn_process
from tests.support import ADMIN_KEY

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "interop" / "ts-client"


async def test_lifecycle_with_generated_ts_client(database_url: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    if not (PROJECT / "node_modules" / ".bin" / "openapi-typescript").exists():
        pytest.skip("no interop/ts-client/node_modules: run `npm ci --prefix interop/ts-client`")
    async with uvicorn_process(database_url) as base:
        process = await asyncio.create_subprocess_exec(
            npm,
            "run",
            "--silent",
            "lifecycle",
            cwd=PROJECT,
            env={**os.environ, "CHRONICLE_URL": base, "CHRONICLE_KEY": ADMIN_KEY},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(60):
            out, err = await process.communicate()
    output = out.decode() + err.decode()
    assert process.returncode == 0, output
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["conflict"] == "wrong_expected_version"
    assert summary["read"] == summary["replayed"] == 3
