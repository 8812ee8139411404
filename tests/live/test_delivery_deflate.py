"""With WS_DEFLATE=on a client's permessage-deflate offer is accepted, and broadcasts to it
are compressed with its own compressor (the shared plain frame is not for it)."""

from __future__ import annotations

import zlib
from collections.abc import Callable

from tests.kit.client import Desk
from tests.kit.frames import handshake, read_exactly
from tests.kit.live import LiveServer

SERVER_ENV = {"WS_DEFLATE": "on"}


def test_a_deflate_connection_gets_compressed_broadcasts(
    fresh: LiveServer, desk: Callable[..., Desk]
) -> None:
    deflated, head = handshake(fresh, "/ws/display", offer_deflate=True)
    plain, _ = handshake(fresh, "/ws/display", offer_deflate=False)
    try:
        assert "permessage-deflate" in head.lower()
        desk("ada", 3)
        assert read_exactly(plain, 8) == b"\x81\x06pick 3"
        first, size = read_exactly(deflated, 2)
        assert first == 0xC1, "FIN + RSV1 (compressed) + text"
        payload = read_exactly(deflated, size)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        assert inflater.decompress(payload + b"\x00\x00\xff\xff") == b"pick 3"
    finally:
        deflated.close()
        plain.close()
