"""Who receives what: this worker's live connections (tablequeue.live.connection), one
room per site (tablequeue.live.rooms), and the fan-out of events.

Events reach `Registry.deliver` through a relay: in one process directly, across workers
and hosts through Redis, one channel per site (see tablequeue.live.relay.pubsub). Each
event goes to its own site's room only. Every message is formatted and framed once per
event and role, then written to a snapshot of the room's audience
(tablequeue.live.delivery)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from flask import Flask

from tablequeue.extensions import Slot
from tablequeue.live.connection import NO_SITE, Connection, Role, close
from tablequeue.live.fanout import Fanout
from tablequeue.live.localrelay import LocalRelay
from tablequeue.live.rooms import Room
from tablequeue.live.sequencer import Sequencer, by_site
from tablequeue.ops import metrics
from tablequeue.outcomes import Event, SiteId, TablesChanged
from tablequeue.service import claimbook, eventlog
from tablequeue.service.directory import directory_of
from tablequeue.service.line_views import LineReader

log = logging.getLogger(__name__)


class Relay(Protocol):
    """Carries published events to `Registry.deliver` of every process that has a room
    for their site."""

    def publish(self, events: list[Event], reply: Callable[[], None]) -> None:
        """Deliver `events` everywhere; `reply` (the actor's answer) runs in this process
        just before they are delivered here, so everyone saw them before the actor's
        client could act on its answer, and the actor hears its answer first."""

    def settle(self) -> None:
        """Return once every event published so far has been delivered in this process."""

    def join(self, room: Room) -> None:
        """Return once `room` hears its site's events (bounded: a relay that is down
        resyncs the room when it is back)."""

    def vacated(self, room: Room) -> None:
        """The room's last connection left."""

    def health(self) -> dict[str, Any]:
        """For /healthz: `state` is "ok" when it can carry events, "disabled" in one process."""

    def before(self, room: Room, n: int) -> None:
        """Run `n` of the room's site is about to be delivered here (the sequencer, with
        `room.order.lock` held): if it is this worker's own, its actor's reply goes first."""

    def after(self, room: Room, n: int, events: list[Event]) -> None:
        """Run `n` was delivered to the room (the lock still held)."""

    def fallback(self, room: Room) -> None:
        """The event log cannot say what the room missed: bring its screens up to date
        from the state, and anchor the room to the number read with it."""


class Registry:
    """This worker's connections, one room per site (tablequeue.live.rooms), and the
    fan-out of each delivered event to its own site's room. A phone (/ws/visitor) waits in
    the lobby until it follows a ticket: then its room is the ticket's site."""

    def __init__(
        self, *, display_shows_email: bool,
        waiting_count: Callable[[SiteId], int] | None = None,
        tables_now: Callable[[SiteId], TablesChanged] | None = None,
        slug_of: Callable[[SiteId], str] | None = None,
        line_reader: LineReader | None = None, event_log_strict: bool = False,
    ) -> None:
        self.fanout = Fanout(display_shows_email=display_shows_email,
                             waiting_count=waiting_count, tables_now=tables_now,
                             line_reader=line_reader)
        self.display_shows_email = display_shows_email
        self.slug_of = slug_of or str  # a site's slug: the `site` label of its metrics
        # An unsealed event at publish raises (EVENT_LOG_STRICT: the tests), else is logged.
        self.event_log_strict = event_log_strict
        self._rooms: dict[SiteId, Room] = {}
        self._lobby: set[Connection] = set()
        self._rooms_lock = threading.Lock()  # opening, taking and closing rooms
        self.relay: Relay = LocalRelay(self)
        # Set when the worker is told to stop: no new websocket is served from then on.
        self.stopping = False
        # Told every delivered batch, and every room's resync: the visitor hub (phones).
        self.followers: list[Callable[[list[Event]], None]] = []
        self.after_resync: list[Callable[[SiteId], None]] = []
        # Told (room, n) after each numbered run n was delivered to a room, under
        # room.order.lock (tablequeue.live.sequencer): screen catch-up's `mark` frames.
        self.after_run: list[Callable[[Room, int], None]] = []
        self.sequencer = Sequencer(self)  # the only deliverer of numbered runs
        # Test-only (FAULT_HOLD_PUBLISH_SECONDS, set by `install`): seconds every publish
        # waits after its commit, a deterministic window to kill a host in (the scale tests,
        # the drill). 0 in production.
        self.hold_publish = 0.0

    # ---- rooms -------------------------------------------------------------------------

    def room(self, site: SiteId) -> Room | None:
        return self._rooms.get(site)

    def rooms(self) -> list[Room]:
        return list(self._rooms.values())

    def add(self, conn: Connection) -> None:
        """Into its site's room, once that room hears its site's events (the relay); a
        phone without a site yet waits in the lobby."""
        if conn.site == NO_SITE:
            self._lobby.add(conn)
            metrics.connections("", conn.role.value, len(self._lobby))
            return
        room, count = self._take(conn.site), 0
        try:
            self.relay.join(room)
            if conn.role is not Role.KIOSK:
                self.relay.settle()  # what was published before it joined is in its greeting
                self.sequencer.level(room)  # ... and what was committed
            count = room.add(conn)
        finally:
            with self._rooms_lock:
                room.joining -= 1
            if not count and room.empty():  # it failed on its way in
                self.relay.vacated(room)
        metrics.connections(room.slug, conn.role.value, count)

    def remove(self, conn: Connection) -> None:
        if conn.site == NO_SITE:
            self._lobby.discard(conn)
            metrics.connections("", conn.role.value, len(self._lobby))
            return
        room = self.room(conn.site)
        if room is None:  # never added (a handshake that failed before it was)
            return
        metrics.connections(room.slug, conn.role.value, room.remove(conn))
        if room.empty():
            self.relay.vacated(room)

    def move(self, conn: Connection, site: SiteId) -> None:
        """A phone follows a ticket of `site`: from the lobby (or another room) into it."""
        if conn.site == site:
            return
        self.remove(conn)
        conn.site = site
        self.add(conn)

    def _take(self, site: SiteId) -> Room:
        """The site's room, opened if need be, held open until the connection is in it."""
        with self._rooms_lock:
            room = self._rooms.get(site)
            if room is None:
                room = self._rooms[site] = Room(site, self.slug_of(site))
            room.joining += 1
            return room

    def close(self, room: Room) -> bool:
        """Forget a room that is still empty (the relay decides when); False if it is not."""
        with self._rooms_lock:
            if not room.empty() or self._rooms.get(room.site) is not room:
                return False
            del self._rooms[room.site]
            room.closed = True
        for role in Role:
            metrics.connections(room.slug, role.value, 0)
        return True

    def members(self, role: Role) -> list[Connection]:
        """Every room's connections of `role` (and the lobby's): sweeps and shutdown."""
        found = [c for room in self.rooms() for c in room.members(role)]
        return found + [c for c in list(self._lobby) if c.role is role]

    def count(self, role: Role) -> int:
        lobby = sum(1 for c in list(self._lobby) if c.role is role)
        return lobby + sum(room.count(role) for room in self.rooms())

    def close_all(self, code: int, reason: str) -> None:
        """Close every connection with `code` (1001 at shutdown: clients reconnect at once)."""
        for role in Role:
            for conn in self.members(role):
                close(conn, code, reason)

    # ---- events ------------------------------------------------------------------------

    def publish(self, events: list[Event], reply: Callable[[], None] = lambda: None) -> None:
        if events:
            eventlog.check(events, strict=self.event_log_strict)  # every change is numbered
            if self.hold_publish:  # test-only: committed, not yet published (see __init__)
                threading.Event().wait(self.hold_publish)  # a sleep, gevent's when patched
            self.relay.publish(events, reply)
        else:
            # As in one process, a reply comes after every broadcast published before it.
            self.relay.settle()
            reply()

    def deliver(self, events: Iterable[Event]) -> None:
        """Each event to its own site's room only; a site with no room here hears nothing."""
        events = list(events)
        claimbook.book().note(events)  # before anyone hears of them: see claimbook
        for site, batch in by_site(events):
            room = self._rooms.get(site)
            if room is not None:
                self.fanout.deliver(room, batch)
        self._tell_followers(events)

    def deliver_run(self, room: Room, events: list[Event]) -> None:
        """One numbered run of the room's site, to that room (the sequencer's delivery)."""
        claimbook.book().note(events)
        self.fanout.deliver(room, events)
        self._tell_followers(events)

    def _tell_followers(self, events: list[Event]) -> None:
        for follower in self.followers:
            try:
                follower(events)
            except Exception:
                log.exception("telling phones about events failed")

    def level(self, site: SiteId) -> None:
        """Deliver what the site committed and this worker has not yet delivered (before a
        state read that a connection is sent: see Sequencer.level)."""
        room = self._rooms.get(site)
        if room is not None:
            self.sequencer.level(room)

    def greet_tableless(self, conn: Connection) -> None:
        """A staff connection's first `taken`, unless its staff member holds a table here."""
        room = self.room(conn.site)
        if room is not None:
            self.fanout.greet_tableless(room, conn)

    def watchers(self, site: SiteId, *roles: Role) -> list[Connection]:
        """The site's connections of these roles (default: all) that opted in with `watch`."""
        room = self._rooms.get(site)
        return room.watchers(*roles) if room is not None else []


def slug_reader(app: Flask) -> Callable[[SiteId], str]:
    """A site's slug from the app's directory of sites (a room's metrics label)."""
    directory = directory_of(app)

    def slug(site: SiteId) -> str:
        view = directory.by_id(site)
        return view.slug if view is not None else str(site)

    return slug


_REGISTRY: Slot[Registry] = Slot("tablequeue.registry")


def install(app: Flask, registry: Registry) -> Registry:
    """Make `registry` the app's (the factory does, once)."""
    registry.hold_publish = float(app.config.get("FAULT_HOLD_PUBLISH_SECONDS") or 0)
    return _REGISTRY.put(app, registry)


def registry_of(app: Flask) -> Registry:
    return _REGISTRY.of(app)


def registry_in(app: object) -> Registry | None:
    """The registry of `app` if it is a tablequeue app (gunicorn.conf.py serves others)."""
    return _REGISTRY.find(app) if isinstance(app, Flask) else None
