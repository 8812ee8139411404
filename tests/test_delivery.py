"""Broadcast frames are built once and shared: they must be the very bytes wsproto would
have sent each receiver, and a client's permessage-deflate offer is declined."""

from __future__ import annotations

import base64
import os
import socket
from typing import Callable

import pytest
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import TextMessage

from tablequeue.live.delivery import Frame, text_frame
from tests.live import Desk, LiveServer


@pytest.mark.parametrize("message", [
    "", "pick 3", "x" * 125, "x" * 126, "é" * 63, "é" * 64, "x" * 0xFFFF, "x" * 0x10000,
    'claimed ada 3 {"id":1,"email":"","name":"Zoë 🐍 李","staff":"ada"}',
])
def test_a_shared_frame_is_what_wsproto_sends(message: str) -> None:
    wsproto_bytes = Connection(ConnectionType.SERVER).send(TextMessage(data=message))
    assert text_frame(message) == wsproto_bytes
    assert Frame(message).data == wsproto_bytes


def _handshake(server: LiveServer, path: str, offer_deflate: bool) -> tuple[socket.socket, str]:
    """A raw websocket handshake, so the test sees the response headers and frame bytes."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade"
        f"\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        + ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
           if offer_deflate else "") + "\r\n"
    )
    sock.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    return sock, head.decode("latin-1")


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "the server closed the connection"
        data += chunk
    return data


def test_a_deflate_offer_is_declined_and_broadcasts_arrive_as_plain_frames(
    fresh: LiveServer, desk: Callable[..., Desk]
) -> None:
    sock, head = _handshake(fresh, "/ws/display", offer_deflate=True)
    try:
        assert head.startswith("HTTP/1.1 101")
        assert "sec-websocket-extensions" not in head.lower()
        desk("ada", 3)
        assert _read_exactly(sock, 8) == b"\x81\x06pick 3"
    finally:
        sock.close()
