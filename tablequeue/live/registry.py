"""Who receives what: the per-role registry of live connections (tablequeue.live.connection)
and the fan-out of events.

Events reach `Registry.deliver` through a relay: in one process directly, across workers
and hosts through Redis (see tablequeue.live.relay.pubsub). Every message is formatted and
framed once per event and role, then written to a snapshot of the audience
(tablequeue.live.delivery)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from flask import Flask

from tablequeue import protocol
from tablequeue.extensions import Slot
from tablequeue.live.connection import Connection, Role, close
from tablequeue.live.delivery import Frame
from tablequeue.ops import metrics
from tablequeue.outcomes import (
    Event,
    FloorChanged,
    SessionsRevoked,
    SiteId,
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
        self, *, display_shows_email: bool, waiting_count: Callable[[SiteId], int] | None = None,
        tables_now: Callable[[SiteId], TablesChanged] | None = None,
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
        for site in {event.site for event in events if isinstance(event, _CHANGES_WAITING)}:
            try:
                self._waiting_changed(site)
            except Exception:
                log.exception("counting waiting tickets for displays failed")
        for follower in self.followers:
            try:
                follower(events)
            except Exception:
                log.exception("telling phones about events failed")

    def _waiting_changed(self, site: SiteId) -> None:
        """One count per batch and site (closing the day withdraws many tickets at once)."""
        watchers = [c for c in self.watchers(Role.DISPLAY) if c.site == site]
        if watchers and self.waiting_count is not None:
            self._send(watchers, protocol.display_waiting(self.waiting_count(site)))

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
            self._send(self.watchers(Role.DISPLAY), protocol.display_tables(event.count))

    def _sessions_revoked(self, event: SessionsRevoked) -> None:
        with self._tables_lock:
            now = self._current_tables(TablesChanged(frozenset(), event.taken, site=event.site))
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
            now = (self.tables_now(conn.site) if self.tables_now
                   else TablesChanged(frozenset(), (), site=conn.site))
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
            return self.tables_now(event.site)
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
