"""Below the websocket client: a raw handshake, so a test sees the response headers and
the very bytes of each frame (permessage-deflate, shared broadcast frames), and the raw
close frame of a connection the server ends."""

from __future__ import annotations

import base64
import os
import socket
import struct

import websocket

from tests.kit.client import Client
from tests.kit.live import LiveServer


def handshake(server: LiveServer, path: str, offer_deflate: bool) -> tuple[socket.socket, str]:
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


def read_exactly(sock: socket.socket, size: int) -> bytes:
    """Exactly `size` bytes from `sock`; fails if the server closes first."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "the server closed the connection"
        data += chunk
    return data


def close_frame_code(client: Client, timeout: float = 15) -> int:
    """Read raw frames until the server's close frame; its status code. No automatic close
    reply (Client.close_code sends one): the server may be gone."""
    client.ws.settimeout(timeout)
    for _ in range(100):
        frame = client.ws.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            return int(struct.unpack("!H", frame.data[:2])[0])
    raise AssertionError("no close frame")
