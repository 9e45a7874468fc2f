"""The committed AsyncAPI document matches the frame and params models."""

import json
from pathlib import Path
from typing import Any

from app.hub.asyncapi import asyncapi_document, render
from app.hub.calls import METHODS


def test_committed_asyncapi_has_not_drifted(repo_root: Path) -> None:
    committed = (repo_root / "openapi" / "asyncapi.json").read_text()
    assert committed == render(), "run: python -m app.hub.asyncapi > openapi/asyncapi.json"


def test_every_reference_resolves_and_every_method_is_listed() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    assert set(document["x-methods"]) == set(METHODS)

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(document):
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert isinstance(target, dict), ref
    json.dumps(document)  # plain JSON
