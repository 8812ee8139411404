"""How a message's bytes reach one websocket, cheaply and without letting one stalled
client hold up a broadcast.

A server-to-client text frame is unmasked, so for every receiver that negotiated no
extension it is byte-for-byte the same: `Frame` builds it once per broadcast, exactly as
wsproto would (RFC 6455 5.2), and each `Outlet` writes those bytes to its socket. A
connection that negotiated permessage-deflate keeps its own compressor state, so its
frames still go through its own wsproto connection.

Writes never wait. Under gevent a write is buffered and the buffer flushed as soon as the
writing greenlet yields to the hub: everything written to one socket meanwhile (under load,
the broadcasts of several commands) goes out in one non-blocking send. Whatever the kernel
will not take goes to a per-connection backlog that a writer greenlet drains in order. A
backlog over `BACKLOG_LIMIT` bytes means the client stopped reading: the socket is shut
down and the receive loop ends the connection, as if the client had left. A replay
(`replay=True`: a console's bind, a display's greeting) is owed to the client whatever its
size, so its bytes are exempt from that limit until they have gone out: a console binding
to 10,000 waiting tickets over an ordinary network is not mistaken for a stalled one.
Before that, a backlog over `READ_PAUSE` stops the connection's own reader
(`Outlet.writable`): a client that sends commands without reading the replies is not read
either."""

from __future__ import annotations

import logging
import socket
import struct
from typing import Any

from wsproto.events import TextMessage

from tablequeue.borrowed import socket_extensions
from tablequeue.ops import metrics

log = logging.getLogger(__name__)

BACKLOG_LIMIT = 256 * 1024  # ~1,000 display messages a client has not read
READ_PAUSE = 64 * 1024  # the connection's own replies a client may leave unread


def text_frame(message: str) -> bytes:
    """One final, unmasked text frame: the bytes wsproto sends for `message` with no
    extension."""
    payload = message.encode("utf-8")
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 0x10000:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class Frame:
    """A message to broadcast; its frame bytes are built on first use, then shared."""

    __slots__ = ("message", "_data")

    def __init__(self, message: str) -> None:
        self.message = message
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = text_frame(self.message)
        return self._data


class _Flusher:
    """The outlets written since the hub last ran, flushed once each from a hub callback."""

    def __init__(self) -> None:
        self.dirty: list[Outlet] = []

    def mark(self, outlet: Outlet) -> None:
        if not self.dirty:
            from gevent import get_hub

            get_hub().loop.run_callback(self.flush)
        self.dirty.append(outlet)

    def flush(self) -> None:
        dirty, self.dirty = self.dirty, []
        for outlet in dirty:
            try:
                outlet.flush()
            except Exception:  # a hub callback must not raise; one socket must not stop the rest
                log.exception("flushing a websocket failed")


_flusher = _Flusher()  # the worker has one gevent hub; greenlets all share it


class Outlet:
    """The sending side of one simple-websocket connection. Callers serialize writes (the
    connection's lock); under gevent no write yields, so a broadcast never waits here."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.sock: Any = getattr(ws, "sock", None)
        self.plain = self.sock is not None and socket_extensions(ws) == []
        # gevent's socket.send(data, flags, timeout) takes timeout=0.0 as "do not wait".
        self.cooperative = type(self.sock).__module__.startswith("gevent")
        self._backlog: list[bytes] = []  # a deque would allocate a block per connection up front
        self._backlog_bytes = 0
        self._writing = False  # a writer greenlet owns the socket until the backlog is empty
        self._dead = False
        self._pending: list[bytes] = []  # written since the hub last ran
        self._in_flight = 0  # bytes the writer greenlet is sending now
        self._drained: Any = None  # a gevent Event, made when a reader first waits
        self._owed = 0  # replay bytes not sent yet: exempt from BACKLOG_LIMIT
        self.written = 0  # bytes written to this outlet, and of those
        self.sent = 0  # the ones the kernel took: the progress of a slow reader

    def send_text(self, message: str, replay: bool = False) -> None:
        self.write(text_frame(message) if self.plain else None, message, replay)

    def send_frame(self, frame: Frame) -> None:
        self.write(frame.data if self.plain else None, frame.message)

    def write(self, data: bytes | None, message: str, replay: bool = False) -> None:
        if self._dead or not getattr(self.ws, "connected", True):
            return  # closed: the receive loop sees it and unregisters the connection
        if data is None:  # an extension (deflate) was negotiated: wsproto encodes, in order
            if self.sock is None:
                self.ws.send(message)
                return
            data = self.ws.ws.send(TextMessage(data=message))
        self.written += len(data)
        if replay and self.cooperative:
            self._owed += len(data)
        if self._writing:
            self._queue(data)
        elif not self.cooperative:
            self.sock.sendall(data)  # plain threads: the caller's lock serializes writers
        else:
            if not self._pending:
                _flusher.mark(self)
            self._pending.append(data)

    def flush(self) -> None:
        """Send what was written since the hub last ran, in one non-blocking send."""
        pending = self._pending
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        if self._dead:
            return
        if self._writing:
            self._queue(data)
        else:
            self._write_now(data)

    def _write_now(self, data: bytes) -> None:
        try:
            sent = self.sock.send(data, 0, 0.0)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._dead = True
            return
        self._sent(sent)
        if sent < len(data):
            self._writing = True
            self._queue(data[sent:])
            import gevent  # cooperative implies gevent; spawn never waits, even in the hub

            gevent.spawn(self._drain)

    def _queue(self, data: bytes) -> None:
        self._backlog.append(data)
        self._backlog_bytes += len(data)
        if self._backlog_bytes > BACKLOG_LIMIT + self._owed:
            log.warning("dropping a websocket client that stopped reading (%d bytes queued)",
                        self._backlog_bytes)
            metrics.dropped()
            self._abandon()

    def writable(self) -> None:
        """Return once at most READ_PAUSE bytes wait for the client (or it is gone): the
        connection's reader calls this before reading more of the client's commands."""
        while (self._writing and not self._dead
               and self._backlog_bytes + self._in_flight > READ_PAUSE):
            if self._drained is None:
                from gevent.event import Event  # _writing implies gevent (see _write_now)

                self._drained = Event()
            self._drained.clear()
            self._drained.wait()

    def _drain(self) -> None:
        """The slow path: write the backlog in order, waiting for the client as long as the
        backlog stays under the limit."""
        try:
            while self._backlog and not self._dead:
                chunk = b"".join(self._backlog)
                self._backlog.clear()
                self._backlog_bytes = 0
                self._in_flight = len(chunk)
                rest = memoryview(chunk)
                while rest:  # not sendall: progress is seen (and the reader woken) as it goes
                    sent = self.sock.send(rest)
                    rest = rest[sent:]
                    self._in_flight -= sent
                    self._sent(sent)
                    self._wake_reader()
        except OSError:
            self._abandon()  # so the connection's reader ends too, not only the writes
        finally:
            self._backlog.clear()
            self._backlog_bytes = self._in_flight = self._owed = 0
            self._writing = False
            self._wake_reader()

    def _sent(self, size: int) -> None:
        """Bytes went out: in order, so a replay's share of them is paid first (or what was
        written before it, which only makes the exemption end a little later)."""
        self.sent += size
        if self._owed:
            self._owed = max(0, self._owed - size)

    def _wake_reader(self) -> None:
        if self._drained is not None:
            self._drained.set()

    def _abandon(self) -> None:
        self._dead = True
        self._backlog.clear()
        self._backlog_bytes = 0
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
