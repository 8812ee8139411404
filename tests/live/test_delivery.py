"""Broadcast frames are built once and shared: they must be the very bytes wsproto would
have sent each receiver, and a client's permessage-deflate offer is declined."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import TextMessage

from tablequeue.live.delivery import Frame, text_frame
from tests.kit.client import Desk
from tests.kit.frames import handshake, read_exactly
from tests.kit.live import LiveServer


@pytest.mark.parametrize("message", [
    "", "pick 3", "x" * 125, "x" * 126, "é" * 63, "é" * 64, "x" * 0xFFFF, "x" * 0x10000,
    'claimed ada 3 {"id":1,"email":"","name":"Zoë 🐍 李","staff":"ada"}',
])
def test_a_shared_frame_is_what_wsproto_sends(message: str) -> None:
    wsproto_bytes = Connection(ConnectionType.SERVER).send(TextMessage(data=message))
    assert text_frame(message) == wsproto_bytes
    assert Frame(message).data == wsproto_bytes


def test_a_deflate_offer_is_declined_and_broadcasts_arrive_as_plain_frames(
    fresh: LiveServer, desk: Callable[..., Desk]
) -> None:
    sock, head = handshake(fresh, "/ws/display", offer_deflate=True)
    try:
        assert head.startswith("HTTP/1.1 101")
        assert "sec-websocket-extensions" not in head.lower()
        desk("ada", 3)
        assert read_exactly(sock, 8) == b"\x81\x06pick 3"
    finally:
        sock.close()
