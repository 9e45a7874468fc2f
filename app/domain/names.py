"""Validation of chronicle and stream names."""

import re

from app.errors import InvalidNameError

CHRONICLE_NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"
# Streams also allow ':' and '@' so ids like "order:42" or "user@host" fit as they are.
STREAM_NAME_PATTERN = r"^[A-Za-z0-9_.:@\-]{1,200}$"

_chronicle_name = re.compile(CHRONICLE_NAME_PATTERN)
_stream_name = re.compile(STREAM_NAME_PATTERN)


def check_chronicle_name(name: str) -> str:
    """Return ``name`` if it is a valid chronicle name, else raise InvalidNameError."""
    if not _chronicle_name.fullmatch(name):
        raise InvalidNameError(
            f"invalid chronicle name {name!r}: use 1-128 characters of A-Z a-z 0-9 _ . -",
            name=name,
        )
    return name


def check_stream_name(name: str) -> str:
    """Return ``name`` if it is a valid stream name, else raise InvalidNameError."""
    if not _stream_name.fullmatch(name):
        raise InvalidNameError(
            f"invalid stream name {name!r}: use 1-200 characters of A-Z a-z 0-9 _ . : @ -",
            name=name,
        )
    return name
