"""The server frames a catch-up page itself (hub/coalescing.py): bytes equal websockets' own."""

import pytest
from websockets.frames import Frame, Opcode

from app.hub.coalescing import text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_equals_websockets_frame(size: int) -> None:
    payload = b"x" * size
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
