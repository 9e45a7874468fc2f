"""openapi/asyncapi.json is valid against the official AsyncAPI 3.0 JSON schema, the one
shipped in the npm package @asyncapi/specs (installed by `npm ci --prefix interop/ts-client`)."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")
from referencing.exceptions import NoSuchResource  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "interop" / "ts-client" / "node_modules" / "@asyncapi" / "specs"
# The bundled single-file schema: every definition it refers to is embedded under its own $id.
SCHEMA = SPECS / "schemas" / "3.0.0.json"


def _no_network(uri: str) -> Any:
    raise NoSuchResource(ref=uri)  # every reference must resolve inside the bundled file


@pytest.fixture(scope="module")
def validator() -> Any:
    if not SCHEMA.exists():
        pytest.skip(f"{SCHEMA} missing: run `npm ci --prefix interop/ts-client`")
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft-07/schema")
    resource = referencing.Resource.from_contents(
        schema, default_specification=referencing.jsonschema.DRAFT7
    )
    registry = (
        referencing.Registry(retrieve=_no_network).with_resource(schema["$id"], resource).crawl()
    )
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=registry)


@pytest.fixture(scope="module")
def document() -> Any:
    return json.loads((ROOT / "openapi" / "asyncapi.json").read_text())


def test_committed_asyncapi_is_valid(validator: Any, document: Any) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20]
    )


def test_the_schema_rejects_a_broken_document(validator: Any, document: Any) -> None:
    """Guards against a validator that accepts anything (e.g. unresolved references)."""
    broken = copy.deepcopy(document)
    broken["asyncapi"] = "3.0.0"
    del broken["info"]
    assert not validator.is_valid(broken)
    channel = copy.deepcopy(document)
    first = next(iter(channel["channels"]))
    channel["channels"][first]["messages"] = "not an object"
    assert not validator.is_valid(channel)
