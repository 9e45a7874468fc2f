"""Encoding JSON values to the text PostgreSQL stores, with clear errors for what it cannot."""

from typing import Any

import orjson

from app.errors import InvalidInputError


def encode_json(value: Any, what: str) -> str:
    """``value`` as compact JSON text; InvalidInputError names ``what`` when it cannot be stored.

    Integers beyond 64 bits and strings with unpaired surrogates have no faithful round trip.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError as error:
        raise InvalidInputError(f"{what} cannot be stored: {error}", field=what) from error
