"""The browser dashboard: the built assets of frontend/ served at ``/``, outside the OpenAPI."""

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

ASSETS = Path(__file__).resolve().parent.parent / "dashboard_assets"

router = APIRouter(include_in_schema=False)

NOT_BUILT = """<!doctype html><title>Chronicle</title>
<p>The dashboard is not built: run <code>npm ci --prefix frontend &amp;&amp;
npm run build --prefix frontend</code>. The REST API is at <a href="/docs">/docs</a>.</p>"""


@router.get("/")
async def dashboard_index() -> Response:
    index = ASSETS / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=404)
    # index.html names the hashed bundles: never cache it, so a new build shows at once.
    return FileResponse(index, headers={"Cache-Control": "no-cache"})


@router.get("/assets/{name}")
async def dashboard_asset(name: str) -> FileResponse:
    # One flat folder of hashed file names; anything with a path in it is not ours.
    path = ASSETS / "assets" / name
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise HTTPException(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})
