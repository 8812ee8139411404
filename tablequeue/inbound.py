"""How a websocket's frames are read: in the request's own greenlet, one frame at a time.

simple-websocket (under Flask-Sock) reads every socket in a background thread of its own
(under gevent, a greenlet with its own stack, selector and event) that hands complete
messages to the request greenlet through a queue. An idle connection so carries two
greenlets. Here the background thread is never started (the app factory adds
`SERVER_OPTIONS` to Flask-Sock's `SOCK_SERVER_OPTIONS`) and `serve` does its loop in the
greenlet that serves the connection: read, let simple-websocket's own `_handle_events`
answer pings and closes and assemble messages, hand each message to the caller. Same
wsproto, same close codes, same ping schedule; one greenlet per connection.

While the caller handles a message nothing reads this socket: messages wait in the
kernel's buffer and pings are answered when the handler returns (milliseconds)."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Iterator

from wsproto.events import Ping
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError


class Unstarted:
    """A thread class for simple-websocket whose thread never runs: `messages` reads."""

    def __init__(self, target: Callable[[], None]) -> None:
        self.name = "websocket reader (inline)"

    def start(self) -> None:
        pass


class Flag:
    """simple-websocket signals its (unstarted) reader's queue through an event; nothing
    waits on it here, so a plain flag costs less than a threading.Event (a lock each)."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        return self._set


SERVER_OPTIONS = {"thread_class": Unstarted, "event_class": Flag}  # for SOCK_SERVER_OPTIONS


class _Done:
    """Stands in for wsproto's finished HTTP handshake, which otherwise stays referenced
    (an h11 connection, header lists, a deque: ~3 KB a connection) for nothing."""

    @staticmethod
    def events() -> Iterator[Any]:
        return iter(())


def forget_handshake(wsconn: Any) -> None:
    """Drop a wsproto connection's finished handshake state."""
    if wsconn.connection is not None:
        wsconn.handshake = _Done()


def serve(ws: Any, on_message: Callable[[str | bytes], None]) -> None:
    """Hand each complete message the peer sends to `on_message`, until the peer closes,
    goes quiet past a ping, or the socket is shut down; then close the socket, as
    simple-websocket's reader would. A loop, not a generator: every frame of C stack
    (a generator adds one) is copied to the heap each time an idle greenlet waits."""
    forget_handshake(ws.ws)
    sock = ws.sock
    interval = ws.ping_interval
    next_ping = time.monotonic() + interval if interval else None
    try:
        while ws.connected:
            if next_ping is not None:
                now = time.monotonic()
                if now >= next_ping:
                    if not _ping(ws):
                        return
                    next_ping = max(now, next_ping) + interval
                    continue
                # Bounds only this wait; the writers pass their own timeouts (delivery.py).
                sock.settimeout(next_ping - now)
            try:
                data = sock.recv(ws.receive_bytes)
            except socket.timeout:
                continue
            if not data:
                return
            ws.ws.receive_data(data)
            ws.connected = ws._handle_events()
            while ws.input_buffer:
                on_message(ws.input_buffer.pop(0))
    except (OSError, LocalProtocolError):
        pass
    finally:
        ws.connected = False
        sock.close()


def _ping(ws: Any) -> bool:
    """simple-websocket's rule: a peer that has not answered the last ping is gone."""
    if not ws.pong_received:
        ws.close(reason=CloseReason.POLICY_VIOLATION, message="Ping/Pong timeout")
        return False
    ws.pong_received = False
    ws.sock.send(ws.ws.send(Ping()))
    return True
