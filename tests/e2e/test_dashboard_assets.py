"""The built dashboard is served at / with its bundles, and stays out of the OpenAPI."""

import re

import httpx

from app.api.dashboard import ASSETS


async def test_index_and_its_bundles_are_served(client: httpx.AsyncClient) -> None:
    index = await client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert '<div id="app">' in index.text
    bundles = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index.text)
    assert any(b.endswith(".js") for b in bundles) and any(b.endswith(".css") for b in bundles)
    for bundle in bundles:
        response = await client.get(bundle)
        assert response.status_code == 200, bundle
        assert response.content == (ASSETS / bundle.lstrip("/")).read_bytes()


async def test_nothing_outside_the_assets_folder(client: httpx.AsyncClient) -> None:
    for path in ("/assets/..%2Findex.html", "/assets/.hidden", "/assets/missing.js"):
        assert (await client.get(path)).status_code == 404, path


async def test_dashboard_routes_are_not_in_the_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths
    assert not any(p.startswith("/assets") for p in paths)
