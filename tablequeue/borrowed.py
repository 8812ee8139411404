"""Everything tablequeue borrows from its dependencies' internals, and only here.

simple-websocket, wsproto and gunicorn offer no public way to do four things tablequeue
needs: serve a websocket without the request that opened it (tablequeue.live.detached),
see which extensions a connection negotiated (tablequeue.live.delivery), close a socket
behind its queued bytes (tablequeue.live.registry), and drop gunicorn's `Server` banner
(gunicorn.conf.py). Each borrowing below says what it takes, as of which version, and why.

They were read against the versions in `CHECKED_AGAINST` (the pins in pyproject.toml), and
`BORROWED` records the signature and source hash of every upstream definition they rely
on: tests/repo/test_borrowed.py fails when an upgrade changes any of them, and says what to
re-read before the record is updated.

Nothing third-party is imported at module level: gunicorn.conf.py imports this module in
gunicorn's arbiter, which must stay as light as it was (simple-websocket brings asyncio),
and whose workers must import these libraries only after gevent's monkey-patching."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from simple_websocket import Server
    from wsproto import WSConnection
    from wsproto.extensions import Extension
    from wsproto.handshake import H11Handshake

# The pinned versions (pyproject.toml) every borrowing below was read against.
CHECKED_AGAINST = {"simple-websocket": "1.1.0", "wsproto": "1.3.2", "gunicorn": "27.0.1"}


@dataclass(frozen=True)
class Borrowed:
    """One upstream definition tablequeue relies on, as it was when last read."""

    package: str  # a key of CHECKED_AGAINST
    where: str  # "module:qualified.name"
    signature: str | None  # str(inspect.signature(...)); None for a class
    sha256: str  # of inspect.getsource(...)
    recheck: str  # what to re-read in it, should it change


BORROWED = (
    Borrowed(
        "simple-websocket", "simple_websocket.ws:Base.__init__",
        "(self, sock=None, connection_type=None, receive_bytes=4096, ping_interval=None, "
        "max_message_size=None, thread_class=None, event_class=None, selector_class=None)",
        "25f57ef0b5f87780d4a7970a071bcbe3b3525cc7387c6b12373fed666b27a4ba",
        "SocketState: the attributes it sets (COPIED, RECREATED, REPLACED, KEPT, LEFT); "
        "Unstarted and Flag: how it uses thread_class and event_class"),
    Borrowed(
        "simple-websocket", "simple_websocket.ws:Base._handle_events", "(self)",
        "fa982a271583fe76851a1e20657a75c01c77a41a8a6d952dd32264e5ba613ac8",
        "SocketState.handle_events: SocketState has every self.X it reads, and it calls no "
        "other Base method (choose_subprotocol only answers a handshake's Request)"),
    Borrowed(
        "simple-websocket", "simple_websocket.ws:Base.send", "(self, data)",
        "5dd75a306f1fab597f81d8c7efcdae9c91e41a8e9f935c3e4eb196e7fb10b8f9",
        "SocketState.send: it reads only SocketState's attributes"),
    Borrowed(
        "simple-websocket", "simple_websocket.ws:Base.close", "(self, reason=None, message=None)",
        "c3b710ade5278edb7789a2d427d6533a78d98026e69408bf90fcea207fdd466a",
        "SocketState.close, and close_through, which repeats it with another writer"),
    Borrowed(
        "wsproto", "wsproto:WSConnection", None,
        "29da9c6a18f10d022e000abd6f07703f9d4487d386d97dbcee6410a2ccb0cf66",
        "forget_handshake: once `connection` is set, `handshake` serves only events()"),
    Borrowed(
        "wsproto", "wsproto.connection:Connection.__init__",
        "(self, connection_type: 'ConnectionType', extensions: 'list[Extension] | None' = None, "
        "trailing_data: 'bytes' = b'') -> 'None'",
        "2aa4c1439d32bd59b285f012d57a6e23ff50e84648a9322d1cd175af0d3fd9f0",
        "socket_extensions: the frame protocol is still the private `_proto`"),
    Borrowed(
        "wsproto", "wsproto.frame_protocol:FrameProtocol.__init__",
        "(self, client: 'bool', extensions: 'list[Extension]') -> 'None'",
        "037e847db237d08160293b3cc76833d97cb063a2a4e29f4425906f78ab9f4f84",
        "socket_extensions: `extensions` still lists the enabled (negotiated) ones"),
    Borrowed(
        "gunicorn", "gunicorn.http.wsgi:Response.default_headers", "(self)",
        "cb490cea5d6f54089293c2adf46190cf3b5fb92335e620bb93710412aa26c6c6",
        "drop_server_banner: it returns the head's lines, `Server: ...` among them"),
    Borrowed(
        "gunicorn", "gunicorn.http.wsgi:Response.send_headers", "(self)",
        "7aff3b7d004fc17b318ce8d0ea6a426cc9c019fb9e6e5ed129c5dbb598315cb9",
        "drop_server_banner: every response head still starts with default_headers()"),
)


# ---- simple-websocket: serving a connection without its reader thread ---------------------


class Unstarted:
    """simple-websocket's `thread_class` for a connection tablequeue reads itself: Base.__init__
    (1.1.0) calls `thread_class(target=...)`, renames it through `.name`, and `.start()`s it;
    this thread never runs (under gevent it would be one more greenlet per connection)."""

    def __init__(self, target: Callable[[], None]) -> None:
        self.name = "websocket reader (inline)"

    def start(self) -> None:
        pass


class Flag:
    """simple-websocket's `event_class`: Base (1.1.0) sets and clears it for its reader's
    queue. Nothing waits on it when tablequeue reads, so a plain flag costs less than a
    threading.Event (a lock each)."""

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


class _Done:
    """Stands in for wsproto's finished HTTP handshake, which otherwise stays referenced
    (an h11 connection, header lists, a deque: ~3 KB a connection) for nothing."""

    @staticmethod
    def events() -> Iterator[Any]:
        return iter(())


def forget_handshake(wsconn: WSConnection) -> None:
    """Drop a wsproto connection's finished handshake state. Borrows wsproto 1.3.2's
    `WSConnection.handshake`: once `connection` is set, WSConnection uses it only in
    `events()`, which must then yield nothing."""
    if wsconn.connection is not None:
        # wsproto types it H11Handshake; after the handshake only events() is called.
        wsconn.handshake = cast("H11Handshake", _Done())


class SocketState:
    """A connection's simple-websocket state, taken over from a `simple_websocket.Server`
    whose handshake is done, so that simple-websocket 1.1.0's own `Base._handle_events`
    (pings, pongs, close, fragments, the size cap), `Base.send` and `Base.close` run on it
    unchanged, as `handle_events`, `send` and `close`. tablequeue.live.detached.Peer
    subclasses it to read the socket itself, with no reader thread or greenlet.

    The attributes are the ones Base.__init__ sets (tests/repo/test_borrowed.py holds them to it):
    some copied from the server, some recreated empty (its reader never ran), the socket
    replaced by the caller's own descriptor, the wsproto connection kept, and the reader
    thread's own left behind."""

    COPIED = ("subprotocol", "receive_bytes", "ping_interval", "max_message_size",
              "is_server", "close_reason", "close_message")
    RECREATED = ("pong_received", "input_buffer", "incoming_message", "incoming_message_len",
                 "event", "connected")
    REPLACED = ("sock",)
    KEPT = ("ws",)
    LEFT = ("selector_class", "thread")  # only Base._thread uses them, and it never runs

    subprotocol: str | None
    receive_bytes: int
    ping_interval: float | None
    max_message_size: int | None
    is_server: bool
    close_reason: int
    close_message: str | None

    if TYPE_CHECKING:  # simple-websocket's own, installed by __init_subclass__
        def handle_events(self) -> bool: ...
        def send(self, data: str | bytes) -> None: ...
        def close(self, reason: int | None = None, message: str | None = None) -> None: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """The methods are installed on the subclass, not in this class body, so that
        importing this module does not import simple-websocket (see the module docstring)."""
        super().__init_subclass__(**kwargs)
        from simple_websocket.ws import Base

        # The private method is not in simple-websocket's stubs: it is what is borrowed.
        handle_events: Callable[..., None] = vars(Base)["_handle_events"]
        for name, rule in (("handle_events", handle_events), ("send", Base.send),
                           ("close", Base.close)):
            setattr(cls, name, rule)

    def __init__(self, server: Server, sock: socket.socket) -> None:
        self.sock = sock
        self.ws: WSConnection = server.ws
        forget_handshake(self.ws)
        for name in self.COPIED:
            setattr(self, name, getattr(server, name))
        self.pong_received = True
        self.input_buffer: list[str | bytes] = []
        self.incoming_message: str | bytes | bytearray | None = None
        self.incoming_message_len = 0
        self.event = Flag()
        self.connected = True
        # The request may now end: Flask-Sock's close() of a closed socket does nothing.
        server.connected = False


def wake_reader(ws: object) -> None:
    """Wake simple-websocket's `receive()` now (a thread or greenlet waiting on the private
    `event` of Base 1.1.0), so it sees `connected` is False and ends the receive loop."""
    event = getattr(ws, "event", None)
    if event is not None:
        event.set()


def close_through(ws: object, code: int, reason: str, write: Callable[[bytes], None]) -> None:
    """simple-websocket 1.1.0's `Base.close`, with the close frame handed to `write` rather
    than sent on the socket at once, so that bytes queued before it go out first. `ws` is a
    simple_websocket.Server or a SocketState (both hold `.ws` and `.connected`)."""
    from wsproto.events import CloseConnection

    connection: Any = ws  # simple-websocket ships no types
    write(connection.ws.send(CloseConnection(code, reason)))
    connection.connected = False


# ---- wsproto: what a connection negotiated -----------------------------------------------


def socket_extensions(ws: object) -> list[Extension] | None:
    """The extensions simple-websocket's wsproto connection negotiated; None if unknown (not
    a simple-websocket connection, or no handshake yet). wsproto 1.3.2 keeps them only on the
    private frame protocol, `Connection._proto.extensions`."""
    connection: Any = ws  # simple-websocket ships no types
    try:
        return list(connection.ws.connection._proto.extensions)
    except AttributeError:
        return None


# ---- gunicorn: no Server banner ----------------------------------------------------------


def drop_server_banner() -> None:
    """gunicorn writes `Server: gunicorn` into every response head and has no setting to
    stop it; the banner only helps someone matching exploits to versions. Wraps gunicorn
    27.0.1's `Response.default_headers` (the head's first lines, which `send_headers`
    extends with the app's) to leave that line out. Once: gunicorn re-reads its config
    file, which calls this, on every reload (SIGHUP)."""
    from gunicorn.http import wsgi

    original = wsgi.Response.default_headers
    if original.__module__ == __name__:
        return

    def default_headers(self: Any) -> list[str]:
        return [line for line in original(self) if not line.lower().startswith("server:")]

    # The patch itself: gunicorn's stubs type it as a method, not an attribute to replace.
    wsgi.Response.default_headers = default_headers  # type: ignore[method-assign]
