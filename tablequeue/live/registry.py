"""Who receives what: the per-role registry of live connections and the fan-out of events.

Events reach `Registry.deliver` through a relay: in one process directly, across workers
and hosts through Redis (see tablequeue.live.relay.pubsub). Every message is formatted and
framed once per event and role, then written to a snapshot of the audience
(tablequeue.live.delivery)."""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from flask import Flask
from simple_websocket import ConnectionClosed

from tablequeue import borrowed, protocol
from tablequeue.extensions import Slot
from tablequeue.live.delivery import Frame, Outlet
from tablequeue.live.follow.following import Following
from tablequeue.ops import metrics
from tablequeue.outcomes import (
    Event,
    FloorChanged,
    SessionsRevoked,
    TableAway,
    TableCountChanged,
    TablePicked,
    TablesChanged,
    TableUnpicked,
    TicketClaimed,
    TicketCreated,
    TicketEnded,
    TicketRequeued,
    TicketShown,
    TicketView,
    TicketWithdrawn,
)
from tablequeue.service import claimbook

# Events after which displays that sent `watch` (an extension) get a fresh `waiting N`.
_CHANGES_WAITING = (TicketCreated, TicketClaimed, TicketWithdrawn)

log = logging.getLogger(__name__)


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

    def __init__(self, ws: Socket, role: Role, address: str = "unknown") -> None:
        self.ws = ws
        self.role = role
        self.address = address  # the client's, for throttles (the request may be gone)
        self.request_id: str | None = None  # the handshake's, for LOG_FORMAT=json
        self.staff_id: int | None = None
        self.token_hash: str | None = None
        # The login cookie's token, if it bound this connection at the handshake: the only
        # token a `pick TABLE` without one may use (docs/protocol.md, Identity).
        self.cookie_token_hash: str | None = None
        self.holds_table = False
        self.watching = False  # a display that opted in to `waiting N` / `tables N`
        self.follow: Following | None = None  # a phone's followed ticket (live.follow.hub)
        self.base_url = ""  # the site as the client reached it (follow links, visitor_kiosk)
        # Replies and broadcasts from other greenlets take turns (frame order, bind replay).
        self.lock = threading.Lock()
        self.outlet = Outlet(ws)
        # Tickets announced by the bind replay; a broadcast of one of them is a duplicate.
        self._replayed: set[int] = set()

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
        try:
            self.outlet.send_text(message, replay)
        except (ConnectionClosed, OSError):
            pass  # the receive loop sees the close and unregisters us

    def send_frame(self, frame: Frame) -> None:
        """A broadcast: the frame's bytes are shared by every plain receiver."""
        with self.lock:
            self._send_frame(frame)

    def _send_frame(self, frame: Frame) -> None:
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

    def unbind(self) -> None:
        with self.lock:
            self.staff_id = self.token_hash = None
            self.holds_table = False
            self._replayed.clear()


class Relay(Protocol):
    """Carries published events to `Registry.deliver` of every process."""

    def publish(self, events: list[Event], reply: Callable[[], None]) -> None:
        """Deliver `events` everywhere; `reply` (the actor's answer) runs in this process
        just before they are delivered here, so everyone saw them before the actor's
        client could act on its answer, and the actor hears its answer first."""

    def settle(self) -> None:
        """Return once every event published so far has been delivered in this process."""

    def health(self) -> dict[str, Any]:
        """For /healthz: `state` is "ok" when it can carry events, "disabled" in one process."""


class LocalRelay:
    """One process: publishing is delivering."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def publish(self, events: list[Event], reply: Callable[[], None]) -> None:
        reply()
        self.registry.deliver(events)

    def settle(self) -> None:
        pass  # delivery happened inside publish

    def health(self) -> dict[str, Any]:
        return {"state": "disabled"}  # no REDIS_URL: nothing between workers to fail


class Registry:
    def __init__(
        self, *, display_shows_email: bool, waiting_count: Callable[[], int] | None = None,
        tables_now: Callable[[], TablesChanged] | None = None,
    ) -> None:
        self.display_shows_email = display_shows_email
        self.waiting_count = waiting_count
        self.tables_now = tables_now
        # Every `taken` is read and sent under this lock: see _current_tables.
        self._tables_lock = threading.Lock()
        self._members: dict[Role, set[Connection]] = {role: set() for role in Role}
        self.relay: Relay = LocalRelay(self)
        # Set when the worker is told to stop: no new websocket is served from then on.
        self.stopping = False
        # Told every delivered batch, and every resync: the visitor hub (phones).
        self.followers: list[Callable[[list[Event]], None]] = []
        self.after_resync: list[Callable[[], None]] = []
        # Set by tablequeue.live.floorwatch: read the floor now (a FloorChanged arrived).
        self.floor_changed: Callable[[], None] | None = None

    def add(self, conn: Connection) -> None:
        if conn.role is not Role.KIOSK:
            self.relay.settle()  # what was published before it joined is in its greeting
        self._members[conn.role].add(conn)
        metrics.connections(conn.role.value, len(self._members[conn.role]))

    def remove(self, conn: Connection) -> None:
        self._members[conn.role].discard(conn)
        metrics.connections(conn.role.value, len(self._members[conn.role]))

    def members(self, role: Role) -> list[Connection]:
        return list(self._members[role])  # a snapshot: joins and leaves may happen mid-send

    def count(self, role: Role) -> int:
        return len(self._members[role])

    def publish(self, events: list[Event], reply: Callable[[], None] = lambda: None) -> None:
        if events:
            self.relay.publish(events, reply)
        else:
            # As in one process, a reply comes after every broadcast published before it.
            self.relay.settle()
            reply()

    def deliver(self, events: Iterable[Event]) -> None:
        events = list(events)
        claimbook.book().note(events)  # before anyone hears of them: see claimbook
        for event in events:
            try:
                self._deliver(event)
            except Exception:  # one bad event must not starve the ones after it
                log.exception("delivering %r failed", type(event).__name__)
        if any(isinstance(event, _CHANGES_WAITING) for event in events):
            try:
                self._waiting_changed()
            except Exception:
                log.exception("counting waiting tickets for displays failed")
        for follower in self.followers:
            try:
                follower(events)
            except Exception:
                log.exception("telling phones about events failed")

    def _waiting_changed(self) -> None:
        """One count per batch (closing the day withdraws many tickets at once)."""
        watchers = [c for c in self.members(Role.DISPLAY) if c.watching]
        if watchers and self.waiting_count is not None:
            self._send(watchers, protocol.display_waiting(self.waiting_count()))

    def _deliver(self, event: Event) -> None:
        if isinstance(event, TicketRequeued):
            # Not filtered by the bind replay: that replay saw it before it was claimed.
            self._send(self._bound_staff(), protocol.staff_new(event.ticket))
            if event.table is not None:  # put back by its staff member: clear that table
                self._to_displays(protocol.display_cancel(event.table))
        elif isinstance(event, TicketCreated):
            frame, bound = Frame(protocol.staff_new(event.ticket)), self._bound_staff()
            for conn in bound:
                conn.send_new(event.ticket.id, frame)
            metrics.delivered(len(bound))
        elif isinstance(event, TicketClaimed):
            self._send(self._bound_staff(), protocol.staff_claimed(event.ticket))
            self._to_displays(self._claimed_on_display(event.ticket, event.table))
        elif isinstance(event, TicketShown):
            self._to_displays(self._claimed_on_display(event.ticket, event.table))
        elif isinstance(event, TicketEnded):
            ended = protocol.display_complete if event.completed else protocol.display_cancel
            self._to_displays(ended(event.table))
        elif isinstance(event, TablePicked):
            self._to_displays(protocol.display_pick(event.table))
        elif isinstance(event, TableUnpicked):
            self._to_displays(protocol.display_unpick(event.table))
        elif isinstance(event, TablesChanged):
            self._tables_changed(event)
        elif isinstance(event, SessionsRevoked):
            self._sessions_revoked(event)
        elif isinstance(event, TicketWithdrawn):
            self._send(self._bound_staff(), protocol.staff_withdrawn(event.ticket))
        elif isinstance(event, TableAway):
            say = protocol.table_away if event.away else protocol.table_back
            self._send(self.watchers(Role.DISPLAY, Role.STAFF), say(event.table))
        elif isinstance(event, FloorChanged):
            if self.floor_changed is not None:
                self.floor_changed()
        elif isinstance(event, TableCountChanged):
            watchers = [c for c in self.members(Role.DISPLAY) if c.watching]
            self._send(watchers, protocol.display_tables(event.count))

    def _sessions_revoked(self, event: SessionsRevoked) -> None:
        with self._tables_lock:
            now = self._current_tables(TablesChanged(frozenset(), event.taken))
            message = protocol.staff_taken(now.taken)
            for conn in self.members(Role.STAFF):
                if conn.token_hash is not None and conn.token_hash in event.token_hashes:
                    conn.unbind()
                    conn.send(message)

    def close_all(self, code: int, reason: str) -> None:
        """Close every connection with `code` (1001 at shutdown: clients reconnect at once)."""
        for role in Role:
            for conn in self.members(role):
                close(conn, code, reason)

    def _claimed_on_display(self, ticket: TicketView, table: int) -> str:
        return protocol.display_claimed(ticket, table, redact_email=not self.display_shows_email)

    def _tables_changed(self, event: TablesChanged) -> None:
        with self._tables_lock:
            now = self._current_tables(event)
            message = protocol.staff_taken(now.taken)
            for conn in self.members(Role.STAFF):
                conn.holds_table = conn.staff_id is not None and conn.staff_id in now.holders
                if not conn.holds_table:
                    conn.send(message)

    def greet_tableless(self, conn: Connection) -> None:
        """A staff connection's first `taken`, unless its staff member holds a table."""
        with self._tables_lock:
            now = self.tables_now() if self.tables_now else TablesChanged(frozenset(), ())
            conn.holds_table = conn.staff_id is not None and conn.staff_id in now.holders
            if not conn.holds_table:
                conn.send(protocol.staff_taken(now.taken))

    def _current_tables(self, event: TablesChanged) -> TablesChanged:
        """The assignment as committed now, not as `event` saw it. Events of concurrent
        commits are delivered in any order (greenlets waiting on PostgreSQL, other
        workers), so an event's own snapshot may be older than one already sent; reading
        afresh under the lock makes the last `taken` a connection gets, and its
        holds_table flag, those of the latest commit."""
        if self.tables_now is None:
            return event
        try:
            return self.tables_now()
        except Exception:  # the database is unreachable: the event's view is the best left
            log.warning("reading the table assignment failed; sending the event's", exc_info=True)
            return event

    def watchers(self, *roles: Role) -> list[Connection]:
        """Connections of these roles (default: all) that opted in with `watch`."""
        return [c for role in roles or tuple(Role) for c in self.members(role) if c.watching]

    def _bound_staff(self) -> list[Connection]:
        return [c for c in self.members(Role.STAFF) if c.staff_id is not None]

    def _to_displays(self, message: str) -> None:
        self._send(self.members(Role.DISPLAY), message)

    @staticmethod
    def _send(conns: Iterable[Connection], message: str) -> None:
        frame, sent = Frame(message), 0
        for conn in conns:
            conn.send_frame(frame)
            sent += 1
        metrics.delivered(sent)  # once per message, not once per socket


_REGISTRY: Slot[Registry] = Slot("tablequeue.registry")


def install(app: Flask, registry: Registry) -> Registry:
    """Make `registry` the app's (the factory does, once)."""
    return _REGISTRY.put(app, registry)


def registry_of(app: Flask) -> Registry:
    return _REGISTRY.of(app)


def registry_in(app: object) -> Registry | None:
    """The registry of `app` if it is a tablequeue app (gunicorn.conf.py serves others)."""
    return _REGISTRY.find(app) if isinstance(app, Flask) else None


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
