"""The committed build and generated REST types match frontend/ (like the OpenAPI drift test)."""

import filecmp
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
BIN = FRONTEND / "node_modules" / ".bin"

pytestmark = pytest.mark.skipif(
    not (BIN / "vite").exists(), reason="frontend/node_modules missing: npm ci --prefix frontend"
)


def _run(*command: str) -> None:
    done = subprocess.run(command, cwd=FRONTEND, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_committed_assets_match_a_fresh_build(tmp_path: Path) -> None:
    _run(
        str(BIN / "vite"), "build", "--outDir", str(tmp_path), "--emptyOutDir", "--logLevel", "warn"
    )
    committed = ROOT / "app" / "dashboard_assets"
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert built == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file()), (
        "app/dashboard_assets is stale: run `npm run build --prefix frontend`"
    )
    for name in built:
        assert filecmp.cmp(tmp_path / name, committed / name, shallow=False), name


def test_rest_types_match_the_openapi(tmp_path: Path) -> None:
    out = tmp_path / "schema.d.ts"
    _run(str(BIN / "openapi-typescript"), "../openapi/openapi.json", "-o", str(out))
    assert out.read_text() == (FRONTEND / "src" / "api" / "schema.d.ts").read_text(), (
        "frontend/src/api/schema.d.ts is stale: run `npm run gen:api --prefix frontend`"
    )
