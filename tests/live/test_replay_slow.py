"""A console binding to a long waiting list over a slow link (issue 17, finding 4): the
bind replay is owed to it whatever its size, so it is not dropped as a stalled client."""

from __future__ import annotations

import socket
import time

import pytest
import websocket

from tests.kit.database import seed_waiting
from tests.kit.live import LiveServer

WAITING = 10_000
# Pings every second: the console's pongs wait unread behind its replay for many of them.
SERVER_ENV = {"WS_PING_SECONDS": "1"}


@pytest.fixture
def long_queue(fresh: LiveServer) -> LiveServer:
    seed_waiting(fresh, WAITING)
    return fresh


def test_a_console_on_a_slow_link_gets_its_whole_bind_replay(long_queue: LiveServer) -> None:
    token = long_queue.add_staff("ada")
    # An ordinary network's segment size (loopback's is 64 KiB, and the kernel sizes the
    # server's send buffer by it), a small receive buffer and pauses while reading: the
    # server's send buffer fills, as on a real network.
    ws = websocket.create_connection(
        long_queue.url("/ws/staff"), timeout=20,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),
                 (socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1448)))
    try:
        assert ws.recv().startswith("taken")
        ws.send(f"pick 1 {token}")
        assert ws.recv() == "success pick 1"
        started, new = time.monotonic(), 0
        while new < WAITING:
            message = ws.recv()
            assert message.startswith(("new ", "taken")), message
            new += message.startswith("new ")
            if new % 250 == 0:
                time.sleep(0.1)  # a slow link: ~4 s for the whole replay
        assert time.monotonic() - started > 2, "the client did not read slowly"
        ws.send("sync")
        assert ws.recv() == "error sync unknown command"  # still connected, and still served
    finally:
        ws.close()
