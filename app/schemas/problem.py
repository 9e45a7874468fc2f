"""RFC 9457 problem details: the body of every REST error."""

from typing import Any

from pydantic import BaseModel, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An error. ``code`` is stable and machine-readable; the same codes appear on the
    WebSocket in ``error`` frames."""

    type: str = Field(
        description="URI naming the problem type",
        examples=["urn:chronicle:problem:stream_not_found"],
    )
    title: str
    status: int
    detail: str = Field(description="What went wrong and what to do about it")
    code: str = Field(examples=["wrong_expected_version"])
    instance: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Each invalid field, for validation problems"
    )


def problem_type(code: str) -> str:
    return f"urn:chronicle:problem:{code}"
