"""The README's curl walkthrough runs as written against a live server."""

import asyncio
import re
import textwrap
from pathlib import Path

import pytest

from tests.support import ADMIN_KEY, TIMEOUT, fresh_name


def walkthrough(repo_root: Path) -> str:
    text = (repo_root / "README.md").read_text()
    block = re.search(r"<!-- walkthrough:start -->\n```bash\n(.*?)```", text, re.S)
    assert block, "README lost its walkthrough block"
    return block.group(1)


async def test_walkthrough_runs(repo_root: Path, server: str) -> None:
    # The key the reader pastes is the test server's admin key here.
    script = re.sub(
        r'^AUTH="Authorization: Bearer chr_[^"]*"$',
        f'AUTH="Authorization: Bearer {ADMIN_KEY}"',
        walkthrough(repo_root).replace("http://127.0.0.1:8000", server),
        count=1,
        flags=re.M,
    )
    assert ADMIN_KEY in script, "the walkthrough no longer sets AUTH to a key"
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        script,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(TIMEOUT * 3):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    output = out.decode()
    if '"code":"chronicle_exists"' in output.split("\n")[0]:
        pytest.fail("the walkthrough's chronicle already existed in the test database")
    assert '"name":"lab"' in output
    assert '"code":"wrong_expected_version"' in output and '"actual":1' in output
    assert '"event_count":2' in output
    assert output.count('"celsius":21.7') == 5  # read, get one, replay, global log, latest
    assert '"more_follows":true' in output
    assert '"celsius":99' not in output  # the refused write left nothing behind


async def run_python_example(
    repo_root: Path, marker: str, server: str, chronicle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the README's Python block after ``<!-- marker -->`` as written, against
    ``server``, with "lab" as ``chronicle`` and the admin key in CHRONICLE_KEY."""
    monkeypatch.setenv("CHRONICLE_KEY", ADMIN_KEY)
    text = (repo_root / "README.md").read_text()
    block = re.search(rf"<!-- {marker} -->\n```python\n(.*?)```", text, re.S)
    assert block, f"README lost its {marker} block"
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


async def test_client_example_runs(
    repo_root: Path, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_python_example(repo_root, "client-example", server, fresh_name("readme"), monkeypatch)
