"""`chronicle principal|key|grant|keygen` as an operator runs them, on the database the test
server uses: what the commands make works over HTTP at once."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import fresh_name

KEY = re.compile(r"^chr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$", re.M)


def chronicle_cli(
    database_url: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
    env["CHRONICLE_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )


async def test_operators_manage_principals_keys_and_grants_from_the_shell(
    database_url: str, server: str, client: httpx.AsyncClient, chronicle: str
) -> None:
    name = fresh_name("ops")
    made = chronicle_cli(
        database_url, "principal", "create", name, "--password", stdin="pw-1234567\n"
    )
    assert made.returncode == 0, made.stderr
    key_made = chronicle_cli(database_url, "key", "create", name, "--label", "cron")
    assert key_made.returncode == 0, key_made.stderr
    key = KEY.search(key_made.stdout)
    assert key, key_made.stdout
    assert chronicle_cli(database_url, "grant", "set", chronicle, name, "write").returncode == 0

    async with httpx.AsyncClient(base_url=server) as http:
        headers = {"Authorization": f"Bearer {key.group(0)}"}
        published = await http.post(
            f"/chronicles/{chronicle}/streams/s/events",
            json={"events": [{"type": "t"}]},
            headers=headers,
        )
        assert published.status_code == 201, published.text
        assert (await http.get("/me", auth=(name, "pw-1234567"))).status_code == 200

    listed = chronicle_cli(database_url, "key", "list", name)
    key_id = key.group(0).split("_")[1]
    assert key_id in listed.stdout and key.group(0).split("_", 2)[2] not in listed.stdout
    assert f"{name}\twrite" in chronicle_cli(database_url, "grant", "list", chronicle).stdout
    assert name in chronicle_cli(database_url, "principal", "list").stdout

    assert chronicle_cli(database_url, "key", "revoke", name, key_id).returncode == 0
    # Revoked in the database; this server's cache may trust the key for a few seconds.
    async with httpx.AsyncClient(base_url=server) as http:
        assert (await http.get("/me", auth=(name, "pw-1234567"))).status_code == 200
    assert chronicle_cli(database_url, "principal", "delete", name).returncode == 0


def test_cli_errors_say_what_is_wrong_and_exit_1(database_url: str) -> None:
    missing = chronicle_cli(database_url, "key", "create", "nobody-" + fresh_name())
    assert missing.returncode == 1
    assert "does not exist (principal_not_found)" in missing.stderr
    short = chronicle_cli(
        database_url, "principal", "create", fresh_name(), "--password", stdin="x\n"
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr


def test_keygen_prints_a_key_for_chronicle_admin_key() -> None:
    made = subprocess.run(
        [sys.executable, "-m", "app", "keygen"], capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0 and KEY.fullmatch(made.stdout.strip())
