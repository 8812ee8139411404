"""Attacks from the lobby network on the websockets (issue 17): one connection flooding
frames must not freeze the worker, and a bind replay must reach a console that reads it
slowly."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial

import pytest
import websocket

from tests.kit.client import Client
from tests.kit.live import LiveServer

# A masked (all-zero key, which RFC 6455 allows) one-byte text frame "x", many times over:
# a client can send these far faster than a server can answer them.
ONE_BYTE_FRAME = bytes((0x81, 0x81, 0, 0, 0, 0)) + b"x"
PING_FRAME = bytes((0x89, 0x80, 0, 0, 0, 0))  # no message to count, a pong to write each
# Fairness must not depend on the per-connection message rate (tests/security/test_message_rate.py),
# which would close this flooder within its first few thousand frames.
SERVER_ENV = {"RATE_LIMITS": "off"}


class Flooder:
    """A kiosk connection that sends `frame` as fast as it can, from a thread, until
    stopped (or `seconds` have passed); it reads nothing, or (`read`) discards all it gets."""

    def __init__(self, server: LiveServer, frame: bytes = ONE_BYTE_FRAME, read: bool = False,
                 seconds: float = 90) -> None:
        # A small receive buffer: its unread replies back up into the server sooner.
        self.ws = websocket.create_connection(
            server.url("/ws/kiosk"), timeout=10,
            sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024),))
        self.chunk = frame * (70_000 // len(frame))
        self.sent = 0
        self.last_progress = time.monotonic()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._deadline = time.monotonic() + seconds
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if read:
            threading.Thread(target=self._discard, daemon=True).start()

    def _discard(self) -> None:
        try:
            while not self._stop.is_set():
                self.ws.sock.recv(65536)
        except OSError:
            pass

    def _run(self) -> None:
        sock = self.ws.sock
        sock.settimeout(0.5)
        try:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                try:
                    self.sent += sock.send(self.chunk)
                    self.last_progress = time.monotonic()
                except TimeoutError:
                    pass  # the server stopped reading: keep trying, as an attacker would
        except OSError as error:
            self.error = error

    def wait_sent(self, size: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.sent < size:
            assert self.error is None, f"the flood connection failed: {self.error!r}"
            assert time.monotonic() < deadline, f"only {self.sent} bytes flooded in {timeout} s"
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.ws.shutdown()


@pytest.fixture(params=["text", "ping"])
def flooder(request: pytest.FixtureRequest, fresh: LiveServer) -> Iterator[Flooder]:
    """1-byte text frames, replies unread; or pings, whose pongs it reads."""
    ping = request.param == "ping"
    flood = Flooder(fresh, PING_FRAME if ping else ONE_BYTE_FRAME, read=ping)
    yield flood
    flood.stop()


def _timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def _healthz(server: LiveServer) -> None:
    with urllib.request.urlopen(server.base + "/healthz", timeout=5) as response:
        assert response.status == 200


def test_a_flooding_connection_does_not_hold_up_the_others(
        fresh: LiveServer, flooder: Flooder, opened: list[Client]) -> None:
    # Several kiosks: with several workers (PostgreSQL run), some share the flooder's.
    kiosks = [fresh.connect("/ws/kiosk") for _ in range(4)]
    opened.extend(kiosks)
    flooder.wait_sent(1_000_000)  # the flood is on: ~140,000 frames so far
    for round_ in range(3):
        for kiosk in kiosks:
            took = _timed(partial(kiosk.answer, "query nobody@example.org", timeout=5))
            assert took < 1.0, f"round {round_}: a query took {took:.2f} s during the flood"
        took = _timed(lambda: _healthz(fresh))
        assert took < 1.0, f"round {round_}: /healthz took {took:.2f} s during the flood"
    assert flooder.error is None, f"the flood connection was dropped: {flooder.error!r}"


def test_a_client_that_reads_none_of_its_replies_stops_being_read(
        fresh: LiveServer, opened: list[Client]) -> None:
    """Back-pressure: the flooder's replies stay unsent, so the server stops reading it
    (its sends block) instead of piling replies up in the worker's memory."""
    flooder = Flooder(fresh)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() - flooder.last_progress < 3:
            assert flooder.error is None, f"the flood connection failed: {flooder.error!r}"
            assert time.monotonic() < deadline, (
                f"the server kept reading a client that reads nothing ({flooder.sent} bytes)")
            time.sleep(0.1)
        kiosk = fresh.connect("/ws/kiosk")
        opened.append(kiosk)
        assert kiosk.answer("query nobody@example.org", timeout=5).startswith("error query")
        _healthz(fresh)
    finally:
        flooder.stop()
