"""One live websocket and what the server knows about its far end (who it is, what it
watches or follows), its ordered writer, and closing it behind what is already queued.
Who receives what is the registry's (tablequeue.live.registry)."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import Any, Protocol

from simple_websocket import ConnectionClosed

from tablequeue import borrowed, protocol
from tablequeue.live.delivery import Frame, Outlet
from tablequeue.live.follow.following import Following
from tablequeue.outcomes import SiteId, TicketView

# No site yet: a phone that follows no ticket. Site ids start at 1, so none is 0.
NO_SITE = SiteId(0)


class Role(enum.Enum):
    STAFF = "staff"
    KIOSK = "kiosk"
    DISPLAY = "display"
    VISITOR = "visitor"  # a phone following one ticket (tablequeue.live.follow.hub)


class Socket(Protocol):
    """What a Connection uses of its websocket: a simple_websocket.Server, or the detached
    Peer that took one over (tablequeue.live.detached). Both are simple-websocket's Base."""

    connected: bool

    def send(self, data: str | bytes) -> None: ...

    # `reason` is any close code: simple-websocket's stubs say wsproto's CloseReason enum,
    # which the library does not require (it passes the number on).
    def close(self, reason: Any = None, message: str | None = None) -> None: ...


class Connection:
    """One websocket and what the server knows about its far end."""

    def __init__(self, ws: Socket, role: Role, address: str = "unknown", *,
                 site: SiteId = NO_SITE) -> None:
        self.ws = ws
        self.role = role
        # The site whose screen this is, from its URL at the handshake; a phone's is its
        # ticket's, once it follows one (NO_SITE before).
        self.site = site
        self.address = address  # the client's, for throttles (the request may be gone)
        self.request_id: str | None = None  # the handshake's, for LOG_FORMAT=json
        self.staff_id: int | None = None
        self.token_hash: str | None = None
        # The login cookie's token at the handshake (it bound the connection if the account
        # works at this site): the only token a `pick TABLE` without one may use
        # (docs/protocol.md, Identity).
        self.cookie_token_hash: str | None = None
        self.holds_table = False
        self.watching = False  # a display that opted in to `waiting N` / `tables N`
        # Service lines (docs/lines.md): a console or kiosk that sent `lines` gets the line
        # extensions instead of the seed frames; a console's lines and staff name (its own
        # claims reach it whatever the line) come with its greeting (live/line_fanout.py).
        self.line_aware = False
        self.serves: frozenset[int] = frozenset()
        self.username = ""
        self.follow: Following | None = None  # a phone's followed ticket (live.follow.hub)
        self.base_url = ""  # the site as the client reached it (follow links: live/follow/kiosk.py)
        # Replies and broadcasts from other greenlets take turns (frame order, bind replay).
        self.lock = threading.Lock()
        self.outlet = Outlet(ws)
        # Tickets announced by the bind replay; a broadcast of one of them is a duplicate.
        self._replayed: set[int] = set()
        # Catching up (live/catchup.py): a screen that opted in with `?since` gets `mark N`
        # after each run that wrote it a frame (`frames` tells), and while its catch-up is
        # being read (`held_back`) no broadcast: the catch-up sends those runs, in order.
        self.marking = False
        self.since: int | None = None
        self.frames = 0
        self.marked_frames = 0  # `frames` when it was last sent `mark N`, and that N
        self.marked: int | None = None
        self.held_back = False

    def send(self, message: str) -> None:
        with self.lock:
            self._send(message)

    def write_control(self, data: bytes) -> None:
        """A control frame (ping), in order with the messages."""
        with self.lock:
            self.outlet.write(data, "")

    def send_held(self, message: str) -> None:
        """Send while the caller already holds `lock` (a join-time replay)."""
        self._send(message, replay=True)

    def _send(self, message: str, replay: bool = False) -> None:
        if self.held_back and not replay:
            return
        self.frames += 1
        try:
            self.outlet.send_text(message, replay)
        except (ConnectionClosed, OSError):
            pass  # the receive loop sees the close and unregisters us

    def send_frame(self, frame: Frame) -> None:
        """A broadcast: the frame's bytes are shared by every plain receiver."""
        with self.lock:
            self._send_frame(frame)

    def _send_frame(self, frame: Frame) -> None:
        if self.held_back:
            return
        self.frames += 1
        try:
            self.outlet.send_frame(frame)
        except (ConnectionClosed, OSError):
            pass

    def send_new(self, ticket_id: int, frame: Frame) -> None:
        with self.lock:
            if ticket_id in self._replayed:
                self._replayed.discard(ticket_id)
                return
            self._send_frame(frame)

    def announce(self, ticket_id: int, message: str) -> None:
        """A `new` the relay may have lost: send it once, and drop its late broadcast. Owed
        like a bind replay: after a long Redis outage there may be many."""
        with self.lock:
            if ticket_id not in self._replayed:
                self._replayed.add(ticket_id)
                self._send(message, replay=True)

    def bind(self, staff_id: int, token_hash: str, replay: Callable[[], list[TicketView]]) -> None:
        """Attach a staff member; under the send lock, so no `new` slips between snapshot
        and registration, and none that the snapshot holds is sent twice."""
        with self.lock:
            self.staff_id, self.token_hash = staff_id, token_hash
            try:
                tickets = replay()
            except Exception:  # the database failed: stay unbound rather than half bound
                self.staff_id = self.token_hash = None
                raise
            self._replayed = {t.id for t in tickets}
            for ticket in tickets:
                self._send(protocol.staff_new(ticket), replay=True)

    def replayed(self, ticket_ids: set[int]) -> None:
        """Under `lock`, after a greeting's `new`s: their broadcasts are duplicates."""
        self._replayed = set(ticket_ids)

    def unbind(self) -> None:
        with self.lock:
            self.staff_id = self.token_hash = None
            self.holds_table = False
            self._replayed.clear()


def close(conn: Connection, code: int, reason: str) -> None:
    """Send a close frame with `code` after everything already queued for the connection,
    and wake the receive loop now rather than when (if ever) the peer answers it."""
    with conn.lock:
        try:
            _close_in_order(conn, code, reason)
        except Exception:  # already closed, or the peer vanished
            pass
    borrowed.wake_reader(conn.ws)


def _close_in_order(conn: Connection, code: int, reason: str) -> None:
    """simple-websocket's close, but written through the connection's outlet: a backlog
    the client is still reading (a slow TV) goes out before the close frame, not after
    it or, worse, interleaved with it."""
    ws, outlet = conn.ws, conn.outlet
    outlet.flush()
    if outlet.sock is None or not getattr(ws, "connected", False):
        ws.close(reason=code, message=reason)
        return

    def write(data: bytes) -> None:
        outlet.write(data, "")
        outlet.flush()

    borrowed.close_through(ws, code, reason, write)
