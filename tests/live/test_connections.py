"""The websocket itself, below the protocol: pings, the close handshake, frames split or
batched by TCP. Connections are served detached from the request that opened them
(tablequeue/live/detached.py); these tests hold it to what simple-websocket did."""

from __future__ import annotations

import json
import struct
import time
import urllib.request
from collections.abc import Callable

import websocket

from tests.kit.live import LiveServer

# Pings every second, so a missed pong shows within a test's patience.
SERVER_ENV = {"WS_PING_SECONDS": "1", "RATE_LIMITS": "off"}


def _connections(server: LiveServer) -> dict[str, int]:
    with urllib.request.urlopen(server.base + "/healthz", timeout=10) as response:
        return json.load(response)["connections"]  # type: ignore[no-any-return]


def _eventually(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.05)


def _masked(text: str) -> bytes:
    """One final text frame as a client must send it (RFC 6455 5.3: masked)."""
    payload = text.encode()
    mask = b"\x01\x02\x03\x04"
    header = bytes((0x81, 0x80 | len(payload))) if len(payload) < 126 else \
        struct.pack("!BBH", 0x81, 0x80 | 126, len(payload))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _raw(server: LiveServer, path: str) -> websocket.WebSocket:
    """A connection whose pings nobody answers: recv_frame() hands back every frame as is."""
    return websocket.create_connection(server.url(path), timeout=10)


def test_a_client_that_never_answers_pings_is_closed_1008_and_forgotten(fresh: LiveServer) -> None:
    before = _connections(fresh)["display"]
    ws = _raw(fresh, "/ws/display")
    _eventually(lambda: _connections(fresh)["display"] == before + 1)
    opcodes = []
    while True:
        frame = ws.recv_frame()
        opcodes.append(frame.opcode)
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            break
    assert websocket.ABNF.OPCODE_PING in opcodes
    assert int.from_bytes(frame.data[:2], "big") == 1008
    assert frame.data[2:] == b"Ping/Pong timeout"
    _eventually(lambda: _connections(fresh)["display"] == before)
    ws.shutdown()


def test_a_client_that_answers_pings_stays_and_hears_broadcasts(fresh: LiveServer, connect) -> None:
    # The slow step (an account) comes before the display opens: once it is open, nothing
    # may keep the test from answering its 1-second pings for long.
    token = fresh.add_staff("pinged")
    ws = _raw(fresh, "/ws/display")
    pings = 0
    deadline = time.monotonic() + 3.5  # three or so intervals
    while time.monotonic() < deadline:
        ws.settimeout(deadline - time.monotonic() + 0.1)
        try:
            frame = ws.recv_frame()
        except websocket.WebSocketTimeoutException:
            break
        assert frame.opcode == websocket.ABNF.OPCODE_PING, frame
        ws.pong(frame.data)
        pings += 1
    assert pings >= 2
    staff = connect("/ws/staff")
    assert staff.recv() == "taken"
    assert staff.answer(f"pick 4 {token}") == "success pick 4"
    ws.settimeout(10)
    while (frame := ws.recv_frame()).opcode == websocket.ABNF.OPCODE_PING:
        ws.pong(frame.data)
    assert frame.data == b"pick 4"
    ws.close()


def test_a_frame_that_arrives_one_byte_at_a_time_is_answered(server: LiveServer) -> None:
    ws = _raw(server, "/ws/kiosk")
    for byte in _masked("query nobody@example.org"):
        ws.sock.sendall(bytes((byte,)))
        time.sleep(0.002)
    assert _next_text(ws) == "error query visitor email does not exist"
    ws.close()


def test_frames_sent_in_one_write_are_all_answered_in_order(server: LiveServer) -> None:
    ws = _raw(server, "/ws/kiosk")
    words = ["one", "two", "three", "four"]
    ws.sock.sendall(b"".join(_masked(word) for word in words))
    assert [_next_text(ws) for _ in words] == [f"error {w} unknown command" for w in words]
    ws.close()


def test_a_client_close_is_answered_with_its_code_and_forgotten(fresh: LiveServer) -> None:
    before = _connections(fresh)["kiosk"]
    ws = _raw(fresh, "/ws/kiosk")
    _eventually(lambda: _connections(fresh)["kiosk"] == before + 1)
    ws.send_close(status=4001, reason=b"bye")
    while (frame := ws.recv_frame()).opcode != websocket.ABNF.OPCODE_CLOSE:
        pass
    assert int.from_bytes(frame.data[:2], "big") == 4001
    _eventually(lambda: _connections(fresh)["kiosk"] == before)
    ws.shutdown()


def test_a_vanished_client_is_forgotten(fresh: LiveServer) -> None:
    before = _connections(fresh)["staff"]
    ws = _raw(fresh, "/ws/staff")
    _eventually(lambda: _connections(fresh)["staff"] == before + 1)
    ws.sock.close()  # no close frame: the TCP connection just ends
    _eventually(lambda: _connections(fresh)["staff"] == before)


def _next_text(ws: websocket.WebSocket) -> str:
    """The next text frame, answering pings on the way (this test is not about them)."""
    while True:
        frame = ws.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_PING:
            ws.pong(frame.data)
            continue
        assert frame.opcode == websocket.ABNF.OPCODE_TEXT, frame
        return frame.data.decode()
