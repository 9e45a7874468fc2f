"""Test helpers for access control: principals with keys, made through the REST API."""

from dataclasses import dataclass

import httpx

from tests.support import fresh_name


@dataclass(frozen=True)
class Principal:
    name: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_principal(
    admin: httpx.AsyncClient,
    prefix: str = "p",
    *,
    password: str | None = None,
    server_admin: bool = False,
) -> Principal:
    """A new principal with one API key, made by ``admin`` (a server admin's client)."""
    name = fresh_name(prefix)
    body: dict[str, object] = {"name": name, "server_admin": server_admin}
    if password is not None:
        body["password"] = password
    created = await admin.post("/principals", json=body)
    assert created.status_code == 201, created.text
    key = await admin.post(f"/principals/{name}/keys", json={"label": "test"})
    assert key.status_code == 201, key.text
    return Principal(name, key.json()["key"])


async def grant(admin: httpx.AsyncClient, chronicle: str, principal: str, role: str) -> None:
    granted = await admin.put(f"/chronicles/{chronicle}/grants/{principal}", json={"role": role})
    assert granted.status_code == 200, granted.text
