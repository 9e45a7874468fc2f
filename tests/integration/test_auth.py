"""Authentication and authorization over REST, as users meet them: keys, passwords, roles,
grants taking effect, filtered listings, management of principals and keys, bad input."""

import asyncio
import base64
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from app.config import Settings
from app.domain.credentials import new_key
from app.errors import InvalidInputError, LastServerAdminError
from app.storage import migrations, principals
from tests.conftest import DatabaseFactory
from tests.integration.hub_servers import serve
from tests.integration.principals import grant, make_principal
from tests.support import TIMEOUT, fresh_name


@pytest.fixture
async def anonymous(server: str) -> Any:
    async with httpx.AsyncClient(base_url=server, timeout=TIMEOUT) as http:
        yield http


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_a_person_signs_in_with_username_and_password(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    ann = await make_principal(client, "ann", password="correct horse battery")
    me = await anonymous.get("/me", headers=basic(ann.name, "correct horse battery"))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "principal": ann.name,
        "server_admin": False,
        "grants": {},
        "auth_enabled": True,
    }
    for headers in (
        basic(ann.name, "wrong horse battery"),
        basic("nobody-" + ann.name, "correct horse battery"),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ):
        refused = await anonymous.get("/me", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["code"] == "unauthenticated"
    # Wrong user and wrong password read the same: no hint which usernames exist.
    wrong_user = await anonymous.get("/me", headers=basic("nobody", "correct horse battery"))
    wrong_password = await anonymous.get("/me", headers=basic(ann.name, "x" * 12))
    assert wrong_user.json()["detail"] == wrong_password.json()["detail"]


async def test_a_key_is_shown_once_listed_without_its_secret_and_revoked_at_once(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    svc = await make_principal(client, "svc")
    assert (await anonymous.get("/me", headers=svc.headers)).status_code == 200
    listed = (await client.get(f"/principals/{svc.name}/keys")).json()["items"]
    assert len(listed) == 1
    assert "key" not in listed[0] and svc.key.split("_", 2)[2] not in str(listed)
    key_id = listed[0]["key_id"]
    assert svc.key.startswith(f"chr_{key_id}_")

    revoked = await client.delete(f"/principals/{svc.name}/keys/{key_id}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = await anonymous.get("/me", headers=svc.headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    # Revoking again changes nothing; the key stays listed, revoked.
    again = await client.delete(f"/principals/{svc.name}/keys/{key_id}")
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


async def test_a_wrong_secret_for_a_real_key_id_is_refused(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    svc = await make_principal(client, "svc")
    key_id = svc.key.split("_")[1]
    forged = f"chr_{key_id}_{new_key().secret}"
    refused = await anonymous.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401


async def test_roles_decide_what_a_principal_may_do_and_grants_work_at_once(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, chronicle: str
) -> None:
    bob = await make_principal(client, "bob")
    events = f"/chronicles/{chronicle}/streams/s/events"
    publish = {"events": [{"type": "t", "data": 1}]}

    assert (await anonymous.get(events, headers=bob.headers)).status_code == 403
    await grant(client, chronicle, bob.name, "read")
    assert (await anonymous.get(events, headers=bob.headers)).status_code == 404  # no stream
    refused = await anonymous.post(events, json=publish, headers=bob.headers)
    assert refused.status_code == 403
    assert refused.json()["details"] == {
        "principal": bob.name,
        "chronicle": chronicle,
        "needs": "write",
        "has": "read",
    }
    await grant(client, chronicle, bob.name, "write")
    assert (await anonymous.post(events, json=publish, headers=bob.headers)).status_code == 201
    # Deleting the stream needs admin of the chronicle.
    stream = f"/chronicles/{chronicle}/streams/s"
    assert (await anonymous.delete(stream, headers=bob.headers)).status_code == 403

    assert (await client.delete(f"/chronicles/{chronicle}/grants/{bob.name}")).status_code == 204
    assert (await anonymous.get(events, headers=bob.headers)).status_code == 403
    # Refused writes wrote nothing.
    page = (await client.get(events)).json()
    assert [e["data"] for e in page["events"]] == [1]


async def test_the_creator_of_a_chronicle_is_its_admin_and_others_do_not_see_it(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    owner, other = await make_principal(client, "own"), await make_principal(client, "oth")
    name = fresh_name("mine")
    created = await anonymous.post("/chronicles", json={"name": name}, headers=owner.headers)
    assert created.status_code == 201
    me = (await anonymous.get("/me", headers=owner.headers)).json()
    assert me["grants"] == {name: "admin"}
    published = await anonymous.post(
        f"/chronicles/{name}/streams/s/events",
        json={"events": [{"type": "t"}]},
        headers=owner.headers,
    )
    assert published.status_code == 201

    listed = (await anonymous.get("/chronicles?limit=1000", headers=owner.headers)).json()
    assert [c["name"] for c in listed["items"]] == [name]
    assert (await anonymous.get("/chronicles", headers=other.headers)).json()["items"] == []
    assert (await anonymous.get(f"/chronicles/{name}", headers=other.headers)).status_code == 403
    # The owner manages its grants: the other principal may read from now on.
    shared = await anonymous.put(
        f"/chronicles/{name}/grants/{other.name}", json={"role": "read"}, headers=owner.headers
    )
    assert shared.status_code == 200
    assert (await anonymous.get(f"/chronicles/{name}", headers=other.headers)).status_code == 200
    grants = await anonymous.get(f"/chronicles/{name}/grants", headers=owner.headers)
    assert {(g["principal"], g["role"]) for g in grants.json()["items"]} == {
        (owner.name, "admin"),
        (other.name, "read"),
    }


async def test_the_global_log_carries_only_readable_chronicles(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    reader = await make_principal(client, "rd")
    seen, hidden = fresh_name("seen"), fresh_name("hidden")
    for name in (seen, hidden):
        assert (await client.post("/chronicles", json={"name": name})).status_code == 201
        published = await client.post(
            f"/chronicles/{name}/streams/s/events", json={"events": [{"type": "t"}] * 3}
        )
        assert published.status_code == 201
    await grant(client, seen, reader.name, "read")

    found: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = await anonymous.get(f"/events?from={cursor}&limit=50", headers=reader.headers)
        assert page.status_code == 200
        found += page.json()["events"]
        if not page.json()["events"]:
            break
        cursor = page.json()["next"]
    assert {e["chronicle"] for e in found} == {seen}
    assert len(found) == 3
    named = await anonymous.get(f"/events?chronicle={hidden}", headers=reader.headers)
    assert named.status_code == 403


async def test_principals_are_managed_by_server_admins(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    name = fresh_name("user")
    created = await client.post("/principals", json={"name": name, "password": "long enough"})
    assert created.status_code == 201
    assert created.json()["has_password"] is True and created.json()["server_admin"] is False
    assert (await client.post("/principals", json={"name": name})).json()["code"] == (
        "principal_exists"
    )
    cleared = await client.patch(f"/principals/{name}", json={"password": None})
    assert cleared.json()["has_password"] is False
    assert (await anonymous.get("/me", headers=basic(name, "long enough"))).status_code == 401
    promoted = await client.patch(f"/principals/{name}", json={"server_admin": True})
    assert promoted.json()["server_admin"] is True
    demoted = await client.patch(f"/principals/{name}", json={"server_admin": False})
    assert demoted.json()["server_admin"] is False
    assert (await client.delete(f"/principals/{name}")).status_code == 204
    assert (await client.get(f"/principals/{name}")).json()["code"] == "principal_not_found"


async def test_a_deleted_principal_is_refused_at_once(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    gone = await make_principal(client, "gone")
    assert (await anonymous.get("/me", headers=gone.headers)).status_code == 200
    assert (await client.delete(f"/principals/{gone.name}")).status_code == 204
    assert (await anonymous.get("/me", headers=gone.headers)).status_code == 401


async def test_nobody_locks_themselves_out(client: httpx.AsyncClient) -> None:
    me = (await client.get("/me")).json()["principal"]
    key_id = client.headers["authorization"].split("_")[1]
    for refused in (
        await client.delete(f"/principals/{me}"),
        await client.patch(f"/principals/{me}", json={"server_admin": False}),
        await client.delete(f"/principals/{me}/keys/{key_id}"),
    ):
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "self_lockout"
    assert (await client.get("/me")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/principals", {"name": "has space"}, 422, "validation_error"),
        ("POST", "/principals", {"name": "x" * 129}, 422, "validation_error"),
        ("POST", "/principals", {"name": "shorty", "password": "1234567"}, 422, "validation_error"),
        ("POST", "/principals", {"name": "ok", "admin": True}, 422, "validation_error"),
        ("POST", "/principals/nobody-xyz/keys", {}, 404, "principal_not_found"),
        ("PATCH", "/principals/nobody-xyz", {"server_admin": True}, 404, "principal_not_found"),
        ("DELETE", "/principals/admin/keys/0123456789abcdef", None, 404, "key_not_found"),
        ("DELETE", "/principals/admin/keys/not-an-id", None, 422, "validation_error"),
        ("PUT", "/chronicles/{c}/grants/admin", {"role": "owner"}, 422, "validation_error"),
        ("PUT", "/chronicles/{c}/grants/nobody-xyz", {"role": "read"}, 404, "principal_not_found"),
        ("PUT", "/chronicles/nope-xyz/grants/admin", {"role": "read"}, 404, "chronicle_not_found"),
        ("DELETE", "/chronicles/{c}/grants/nobody-xyz", None, 404, "grant_not_found"),
    ],
)
async def test_bad_access_requests_are_refused_clearly_and_write_nothing(
    client: httpx.AsyncClient,
    chronicle: str,
    pool: asyncpg.Pool,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    async def counts() -> tuple[int, ...]:
        tables = ("principals", "api_keys", "grants")
        return tuple([await pool.fetchval(f"SELECT count(*) FROM {t}") for t in tables])

    before = await counts()
    answer = await client.request(method, path.replace("{c}", chronicle), json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert await counts() == before


async def test_failed_sign_ins_are_logged_without_their_secrets(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    ann = await make_principal(client, "ann", password="correct horse battery")
    forged = new_key()
    capsys.readouterr()
    await anonymous.get("/me", headers={"Authorization": f"Bearer {forged.token}"})
    await anonymous.get("/me", headers=basic(ann.name, "hunter2-is-wrong"))
    await anonymous.get("/me", headers=ann.headers)
    logged = capsys.readouterr().out
    assert "auth_failed" in logged and forged.key_id in logged and ann.name in logged
    for secret in (forged.secret, "hunter2-is-wrong", ann.key.split("_", 2)[2]):
        assert secret not in logged


async def test_with_auth_off_everyone_is_an_anonymous_server_admin(
    database_url: str,
) -> None:
    settings = Settings(database_url=SecretStr(database_url), log_json=False, auth_enabled=False)
    async with serve(settings) as (base, _), httpx.AsyncClient(base_url=base) as http:
        me = await http.get("/me")
        assert me.json() == {
            "principal": "anonymous",
            "server_admin": True,
            "grants": {},
            "auth_enabled": False,
        }
        assert (await http.post("/chronicles", json={"name": fresh_name("open")})).status_code == (
            201
        )
        assert (await http.get("/metrics")).status_code == 200


# first start


async def test_the_first_start_makes_one_admin_even_when_processes_race(
    make_database: DatabaseFactory,
) -> None:
    url = await make_database.create()
    await asyncio.to_thread(migrations.upgrade, url)
    async with asyncpg.create_pool(url, min_size=4, max_size=4) as pool:
        made = await asyncio.gather(*(principals.ensure_admin(pool, None) for _ in range(4)))
        keys = [k for k in made if k is not None]
        assert len(keys) == 1
        assert await principals.ensure_admin(pool, None) is None  # not on later starts
        rows = await pool.fetch("SELECT name, server_admin FROM principals")
        assert [(r["name"], r["server_admin"]) for r in rows] == [("admin", True)]
        # Only the digest is stored.
        stored = await pool.fetchval("SELECT digest FROM api_keys")
        assert keys[0].split("_", 2)[2].encode() not in bytes(stored)
        # The last server admin cannot be deleted.
        with pytest.raises(LastServerAdminError):
            await principals.delete_principal(pool, "admin")


async def test_a_configured_admin_key_is_stored_once_and_a_revoked_one_stays_revoked(
    make_database: DatabaseFactory,
) -> None:
    url = await make_database.create()
    await asyncio.to_thread(migrations.upgrade, url)
    configured = new_key().token
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        assert await principals.ensure_admin(pool, configured) is None
        assert await principals.ensure_admin(pool, configured) is None
        assert await pool.fetchval("SELECT count(*) FROM api_keys") == 1
        await principals.revoke_key(pool, "admin", configured.split("_")[1])
        await principals.ensure_admin(pool, configured)
        assert await pool.fetchval("SELECT revoked_at IS NOT NULL FROM api_keys")
        with pytest.raises(InvalidInputError, match="chronicle keygen"):
            await principals.ensure_admin(pool, "not-a-key")
