"""A websocket that outlives the WSGI request that opened it: no greenlet while it is idle.

Flask-Sock does the handshake inside a request, and the request's greenlet would stay
alive as long as the websocket (with gunicorn's request, the WSGI environ and Flask's
request context: ~28 KB a connection, most of a worker's memory at a few thousand idle
displays). `Peer` takes the connection over once the handshake and the greeting are done:
it duplicates the socket's descriptor, so the request can end and gunicorn can close its
own descriptor while the TCP connection lives on, and keeps simple-websocket's wsproto
state. A libev watcher per socket then wakes the worker's hub when bytes arrive, and only
then does a greenlet run: it reads what is waiting, hands each message to the caller, and
ends. One sweep greenlet per worker sends the pings.

Fairness: every connection shares the worker's one thread, so a client that sends frames
as fast as it can must not keep its greenlet running. After `BATCH` messages the greenlet
waits for the event loop's next iteration (every other connection that became ready goes
first), and so it does after a read that filled `READ_SIZE` (parsing is work too, and a
flood of pings has no messages to count). Before reading more it waits while the client
leaves its replies unread (`Outlet.writable`): such a client stops being read, the
kernel's buffers fill, and TCP flow control slows it down, instead of its replies piling
up in the worker.

simple-websocket still does the handshake, but is told (`SERVER_OPTIONS`) not to start the
reader thread it would otherwise run per connection (under gevent, a second greenlet).
Frames are handled exactly as simple-websocket handles them: `Peer` takes over its state
and its rules (pings, pongs, close, fragments, the size cap), `send` and `close`, through
tablequeue.borrowed, which holds everything taken from simple-websocket's internals."""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import struct
import termios
import time
from collections.abc import Callable
from typing import Any

import gevent
from wsproto.events import Ping
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

from tablequeue import borrowed, protocol
from tablequeue.live.delivery import Outlet
from tablequeue.turns import Slices, next_turn

log = logging.getLogger(__name__)

OnMessage = Callable[[str | bytes], None]

# Messages one connection handles before every other ready connection gets its turn: at
# ~20 us a command that fails fast, about a millisecond (docs/performance.md, "Fairness").
BATCH = 50
# Bytes read at once, and a full read ends the turn too: wsproto parses everything read
# before a message is handled (~8 us a tiny frame, pings and fragments included), so a
# read is the other thing to bound. A command is a few hundred bytes.
READ_SIZE = 512


def available() -> bool:
    """Detaching needs gevent's hub and gevent sockets (gunicorn's gevent worker). Without
    them (`flask run`), simple-websocket keeps its own reader thread per connection."""
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))


# For Flask-Sock's SOCK_SERVER_OPTIONS (the app factory adds them under gevent).
SERVER_OPTIONS = {"thread_class": borrowed.Unstarted, "event_class": borrowed.Flag}


class Peer(borrowed.SocketState):
    """The server side of one websocket after its handshake, owning its own descriptor."""

    def __init__(self, server: Any) -> None:
        # Its own descriptor: the request's is closed by gunicorn when the request ends.
        super().__init__(server, socket.socket(fileno=os.dup(server.sock.fileno())))
        self._on_message: OnMessage = lambda _m: None
        self._on_end: Callable[[], None] = lambda: None
        self._run: Callable[[Callable[[], None]], None] = lambda f: f()
        self._control: Callable[[bytes], None] = self.sock.sendall
        self._outlet: Outlet | None = None
        self._rate: tuple[int, int] | None = None  # (messages, seconds) per window
        self._window_ends = 0.0
        self._window_left = 0
        self._paused = False  # waiting for the client to read its replies
        self._delivered_at_check = 0
        self._ping_end = 0  # where in the outlet's bytes the last ping ends
        self._ping_was_queued = False  # at the last check, the ping had not gone out yet
        self._watcher: Any = None
        self.next_ping = 0.0

    def start(self, on_message: OnMessage, on_end: Callable[[], None],
              run: Callable[[Callable[[], None]], None], control: Callable[[bytes], None],
              outlet: Outlet | None = None, rate: tuple[int, int] | None = None) -> None:
        """From now on, `run(work)` (an app context) calls `on_message` for each message,
        and `on_end` (which must not need the app context) is called once, when the
        connection ends for whatever reason. Pings go out through `control`, in order
        with everything else written to the connection. While `outlet` (the connection's
        writer) holds too much the client has not read, the client is not read either.
        A client sending more than `rate` messages in a window is closed (1008)."""
        self._on_message, self._on_end, self._run = on_message, on_end, run
        self._control, self._outlet, self._rate = control, outlet, rate
        self.next_ping = time.monotonic() + (self.ping_interval or 0)
        _pinger.add(self)
        self._watcher = gevent.get_hub().loop.io(self.sock.fileno(), 1)
        self._watcher.start(self._readable)

    def _readable(self) -> None:
        """In the hub, which must never block: hand the socket to a greenlet."""
        self._watcher.stop()
        gevent.spawn(self._run, self._pump)

    def _pump(self) -> None:
        """Read until the socket has nothing more (the descriptor is non-blocking), then
        wait for the watcher again; handle messages in order, one at a time. A turn of
        the event loop ends after `BATCH` messages or a full read."""
        budget, size = BATCH, min(self.receive_bytes, READ_SIZE)
        try:
            while True:
                full = False
                if not self.input_buffer:
                    self._wait_writable()
                    if not self.connected:
                        return self.end()
                    try:
                        data = os.read(self.sock.fileno(), size)
                    except BlockingIOError:
                        break
                    if not data:
                        return self.end()
                    self.ws.receive_data(data)
                    self.connected = self.handle_events()
                    full = len(data) == size
                while self.input_buffer and budget:
                    if not self._within_rate():
                        return self._refuse(protocol.TOO_MANY_MESSAGES)
                    self._on_message(self.input_buffer.pop(0))
                    budget -= 1
                if not self.connected:
                    return self.end()
                if not budget or full:
                    next_turn()
                    budget = BATCH
        except (OSError, LocalProtocolError):
            return self.end()
        except Exception:  # a bug: end this connection rather than leave it unread
            log.exception("reading a websocket failed")
            return self.end()
        if self.connected and self._watcher is not None:
            self._watcher.start(self._readable)
        else:
            self.end()

    def _within_rate(self) -> bool:
        """Count one message against this connection's fixed window."""
        if self._rate is None:
            return True
        if self._window_left <= 0:
            now = time.monotonic()
            if now < self._window_ends:
                return False
            self._window_left, self._window_ends = self._rate[0], now + self._rate[1]
        self._window_left -= 1
        return True

    def _refuse(self, reason: str) -> None:
        """Close with 1008 (policy violation), without waiting for a client that may not
        read: the close frame goes only if it fits now."""
        try:
            self.sock.settimeout(0.0)
            self.close(reason=CloseReason.POLICY_VIOLATION, message=reason)
        except Exception:
            pass
        self.end()

    def _wait_writable(self) -> None:
        """Back-pressure: no reading while the client leaves what it was sent unread."""
        if self._outlet is not None:
            self._paused = True
            try:
                self._outlet.writable()
            finally:
                self._paused = False

    def _reading_slowly(self) -> bool:
        """A missing pong is not late yet if bytes reach the client and the ping still
        waits behind them (a long bind replay; once it has arrived, the client gets one
        more interval to answer), or the pong waits unread behind the client's commands
        while its reader is paused (back-pressure)."""
        if self._outlet is None:
            return False
        delivered = self._outlet.sent - unacknowledged(self.sock)
        progress, self._delivered_at_check = delivered != self._delivered_at_check, delivered
        was_queued, queued = self._ping_was_queued, delivered < self._ping_end
        self._ping_was_queued = queued
        return (progress and (queued or self._paused)) or (was_queued and not queued)

    def ping(self, now: float) -> None:
        """simple-websocket's rule: a peer that has not answered the last ping is gone."""
        interval = self.ping_interval or 0.0  # never 0: _pinger holds only peers with one
        if not self.connected:
            return self.end()
        if not self.pong_received and self._reading_slowly():
            self.next_ping = now + interval  # no second ping behind the first
            return
        if not self.pong_received:
            # Never waits: a client that reads nothing must not hold up the sweep.
            return self._refuse(protocol.PING_TIMEOUT)
        self.pong_received = False
        self.next_ping = now + interval
        try:
            self._control(self.ws.send(Ping()))
        except OSError:
            return self.end()
        if self._outlet is not None:
            self._ping_end = self._outlet.written

    def end(self) -> None:
        """Stop watching, close the descriptor, tell the owner; once."""
        if self._watcher is None:
            return
        self._watcher.stop()
        self._watcher = None
        self.connected = False
        _pinger.discard(self)
        try:
            self.sock.close()
        finally:
            try:
                self._on_end()
            except Exception:
                log.exception("ending a websocket failed")


def unacknowledged(sock: socket.socket) -> int:
    """Bytes the kernel took but the client has not acknowledged yet (Linux's SIOCOUTQ):
    a send buffer can hold megabytes, so what left the process has not reached the client."""
    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except (OSError, AttributeError):  # not Linux, or the socket is gone: count it as arrived
        return 0
    return int(struct.unpack("i", raw)[0])


class _Pinger:
    """One greenlet per worker pings every peer whose interval has passed."""

    STEP = 1.0  # seconds between sweeps: a ping is at most this late

    def __init__(self) -> None:
        self.peers: set[Peer] = set()
        self._greenlet: Any = None

    def start(self) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._sweep)

    def add(self, peer: Peer) -> None:
        if peer.ping_interval:
            self.peers.add(peer)

    def discard(self, peer: Peer) -> None:
        self.peers.discard(peer)

    def _sweep(self) -> None:
        while True:
            gevent.sleep(self.STEP)
            now = time.monotonic()
            # Thousands of phones: even finding the due peers takes a millisecond, so the
            # sweep runs in short turns (tablequeue.turns) that a kiosk's command can pass.
            slices = Slices()
            for peer in list(self.peers):
                if peer.next_ping <= now:
                    peer.ping(now)  # never waits; a peer that ended meanwhile only ends again
                slices.check()


_pinger = _Pinger()


def start_pinger() -> None:
    """The worker's ping sweep (tablequeue.live.start), before any peer is detached."""
    _pinger.start()
