"""The committed OpenAPI document matches the app, and every operation is documented."""

import json
from pathlib import Path

from app.config import Settings
from app.main import create_app


def test_committed_openapi_matches_the_app(repo_root: Path) -> None:
    committed = json.loads((repo_root / "openapi" / "openapi.json").read_text())
    generated = create_app(Settings()).openapi()
    assert committed == json.loads(json.dumps(generated)), (
        "openapi/openapi.json is stale: run `chronicle openapi --output openapi/openapi.json`"
    )


def test_every_operation_is_documented() -> None:
    document = create_app(Settings()).openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            assert operation.get("description"), where
            assert operation["operationId"].isidentifier(), where
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    content = response["content"]
                    assert list(content) == ["application/problem+json"], where
                    assert content["application/problem+json"]["schema"] == {
                        "$ref": "#/components/schemas/Problem"
                    }
            if path != "/health" and path != "/metrics":
                assert "422" in operation["responses"] or not operation.get("parameters"), where
