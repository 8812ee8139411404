"""A lean websocket client: the bench's default for every role.

The `websockets` client spends ~25 us of Python per received frame, more than the server
spends sending one, so with hundreds of displays on a 2-core machine the client would be
the bottleneck; and a coroutine woken per message stamps arrival times late, unevenly
between roles. This asyncio.Protocol does the RFC 6455 handshake itself, parses server
frames (unmasked) straight out of `data_received`, stamps each with the time its bytes
arrived and hands it to a callback, which may answer at once. It answers pings and inflates
permessage-deflate messages (offered like a browser does, when asked to)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
import zlib
from collections.abc import Callable

now = time.monotonic
OFFER = "permessage-deflate; client_max_window_bits"


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """Client-to-server frames are masked (RFC 6455 5.3); the bench's are all short."""
    size = len(payload)
    if size > 0xFFFF:
        raise ValueError("the bench sends no frame over 64 KiB")
    mask = os.urandom(4)
    key = (mask * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
    length = bytes([0x80 | size]) if size < 126 else bytes([0xFE]) + size.to_bytes(2, "big")
    return bytes([0x80 | opcode]) + length + mask + masked


class LeanClient(asyncio.Protocol):
    """One connection; `on_text(payload_bytes, arrival_time)` gets each text message."""

    def __init__(self, host: str, port: int, path: str, deflate: bool,
                 on_text: Callable[[bytes, float], None]) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"
            f"\r\nSec-WebSocket-Version: 13\r\n"
            + (f"Sec-WebSocket-Extensions: {OFFER}\r\n" if deflate else "") + "\r\n"
        ).encode()
        self.on_text = on_text
        self.buffer = bytearray()
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.inflater: zlib._Decompress | None = None
        self.compressed = 0  # messages that arrived deflated
        self.transport: asyncio.Transport | None = None

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_client_frame(0x1, text.encode()))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        arrived = now()
        self.buffer += data
        if not self.ready.done() and not self._handshake():
            return
        self._frames(arrived)

    def _handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        if not head.startswith("HTTP/1.1 101"):
            self.ready.set_exception(ConnectionError(head.split("\r\n", 1)[0]))
            return False
        if "permessage-deflate" in head.lower():
            self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self.ready.set_result(True)
        return True

    def _frames(self, arrived: float) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            size, start = buf[1] & 0x7F, 2
            if size == 126:
                if len(buf) < 4:
                    return
                size, start = int.from_bytes(buf[2:4], "big"), 4
            elif size == 127:
                if len(buf) < 10:
                    return
                size, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + size:
                return
            head, payload = buf[0], bytes(buf[start: start + size])
            del buf[: start + size]
            self._frame(head, payload, arrived)

    def _frame(self, head: int, payload: bytes, arrived: float) -> None:
        opcode = head & 0x0F
        if opcode == 0x1:
            if head & 0x40 and self.inflater is not None:  # RSV1: a deflated message
                payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
                self.compressed += 1
            self.on_text(payload, arrived)
        elif opcode == 0x9 and self.transport is not None:
            self.transport.write(_client_frame(0xA, payload))
        elif opcode == 0x8:
            self.close()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_client_frame(0x8, b"\x03\xe8"))
            self.transport.close()


async def open_lean(base: str, path: str, deflate: bool,
                    on_text: Callable[[bytes, float], None], stall: bool = False) -> LeanClient:
    """Connect and shake hands. `stall`: a client that stops reading after the handshake,
    with a small receive buffer, like a frozen browser tab on a bad network."""
    host, port = base.removeprefix("ws://").split(":")
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    if stall:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, (host, int(port)))
    transport, protocol = await loop.create_connection(
        lambda: LeanClient(host, int(port), path, deflate, on_text), sock=sock)
    await asyncio.wait_for(protocol.ready, 60)
    if stall:
        transport.pause_reading()
    return protocol
