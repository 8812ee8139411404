"""Phones following a ticket (/ws/visitor): who follows what, and keeping them current.

A phone's own ticket changing (claimed, moved, ended, left) is in the event itself: its
phones get the new state at once, with no query. A ticket ahead leaving the line only
moves the others' positions: that marks its site's line dirty, and one flusher per
worker, at most once every FLUSH_SECONDS, reads each dirty site's waiting list in one
query and sends each waiting phone its position only if it changed. Every worker with a
room for a site receives its events (the Redis relay), so each keeps its own phones
current; after a relay gap (the room's resync) every phone of that site is re-read.

A flush of thousands of phones shares the worker's one thread with every kiosk and staff
console: it runs in short turns (tablequeue.turns), reading the list in parts and sending
a turn's worth of updates at a time, so a command that arrives meanwhile waits for one
turn, not for the whole flush. A phone whose own ticket's event arrived after the flush
read the list keeps what that event told it: the event is the newer truth."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Flask

from tablequeue import protocol, turns
from tablequeue.db import read_only
from tablequeue.extensions import Slot
from tablequeue.live.connection import Connection
from tablequeue.live.follow.following import Following
from tablequeue.live.follow.line import (
    Line,
    following_of,
    own_state,
    phones_of,
    prune,
    rank_of,
)
from tablequeue.live.registry import Registry
from tablequeue.outcomes import (
    Event,
    LinesChanged,
    PhoneState,
    SiteId,
    TicketClaimed,
    TicketMarked,
    TicketRequeued,
    TicketWithdrawn,
)
from tablequeue.service import follow

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0  # position updates: at most one a second per phone
BASIS_SECONDS = 60.0  # the estimate's inputs are re-read this often, not per event
@dataclass
class Hub:
    registry: Registry
    app: Flask
    _lines: dict[SiteId, Line] = field(default_factory=dict, repr=False)
    _events: int = 0  # event batches received
    _dirty: threading.Event = field(default_factory=threading.Event)
    _dirty_sites: set[SiteId] = field(default_factory=set)
    _started: bool = False
    budget: float = turns.BUDGET  # seconds of a flush's turn
    stats: dict[str, int] = field(default_factory=lambda: {"flushes": 0, "sent": 0})

    # ---- phones ------------------------------------------------------------------------

    def add(self, conn: Connection, ticket_id: int, code: str) -> Following:
        """`conn` follows `ticket_id`, a ticket of the phone's site (conn.site)."""
        self.remove(conn)
        following = Following(ticket_id, code)
        conn.follow = following
        line = self._lines.get(conn.site)
        if line is None:
            line = self._lines[conn.site] = Line(conn.site)
        line.phones.setdefault(ticket_id, []).append(weakref.ref(conn))
        line.last = max(line.last, ticket_id)
        return following

    def remove(self, conn: Connection) -> None:
        following = conn.follow
        line = self._lines.get(conn.site)
        if following is not None and line is not None:
            refs = line.phones.get(following.ticket_id)
            if refs:
                refs[:] = [r for r in refs if r() not in (None, conn)]
        conn.follow = None

    def count(self) -> int:
        return sum(len(phones_of(line, ticket_id)) for line in list(self._lines.values())
                   for ticket_id in list(line.phones))

    def send(self, conn: Connection, state: PhoneState, *, force: bool = False,
             message: str | None = None) -> bool:
        """Send `state` unless the phone already has it or already knows a later stage
        (a late event must not take "served" back to "serving"); `force`: a requeue.
        True if it was sent."""
        following = conn.follow
        if following is None or following.ticket_id != state.id:
            return False
        return self._put(conn, following, message or protocol.visitor_state(state),
                         rank_of(state.status), force)

    def _put(self, conn: Connection, following: Following, message: str, rank: int,
             force: bool) -> bool:
        if message == following.sent or (rank < following.rank and not force):
            return False
        following.sent, following.rank = message, rank
        self.stats["sent"] += 1
        conn.send(message)
        return True

    # ---- events (called by Registry.deliver, in every worker) ---------------------------

    def on_events(self, events: Iterable[Event]) -> None:
        """Each event concerns the phones of its own site's line only."""
        self._events += 1
        for event in events:
            line = self._lines.get(event.site)
            if line is None:
                continue
            if isinstance(event, TicketRequeued):
                for _conn, following in following_of(line, event.ticket.id):
                    following.rank = 0
                self._mark(line.site)
                continue
            state = own_state(event)
            if state is not None:
                for conn, following in following_of(line, state.id):
                    following.told = self._events
                    self.send(conn, state)
            # Only a ticket ahead of some followed ticket moves anyone's position: one that
            # arrived before, or a priority ticket (it went ahead, and passed others).
            if isinstance(event, (TicketClaimed, TicketWithdrawn)) and (
                    event.ticket.id < line.last or event.ticket.priority is not None):
                self._mark(line.site)
            elif isinstance(event, TicketMarked):  # the line's order changed
                self._mark(line.site)
            elif isinstance(event, LinesChanged):  # a name: read with the estimate's inputs
                line.basis = None
                self._mark(line.site)

    def on_resync(self, site: SiteId) -> None:
        """The relay may have lost this site's events: re-read every followed ticket."""
        line = self._lines.get(site)
        if line is not None:
            line.full = True
            self._mark(site)

    def _mark(self, site: SiteId) -> None:
        self._dirty_sites.add(site)
        self._dirty.set()

    # ---- the flusher ---------------------------------------------------------------------

    def start(self) -> None:
        """The worker's flusher (tablequeue.live.start); once."""
        if not self._started:
            self._started = True
            threading.Thread(target=self._run, name="visitor-hub", daemon=True).start()

    def _run(self) -> None:
        last = 0.0
        while True:
            woken = self._dirty.wait(BASIS_SECONDS)
            pause = last + FLUSH_SECONDS - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # coalesce: everything that happens meanwhile is one flush
            self._dirty.clear()
            sites, self._dirty_sites = self._dirty_sites, set()
            if not woken:
                for line in list(self._lines.values()):
                    line.basis = None  # a quiet minute: estimates may have drifted
            last = time.monotonic()  # from the start: a slow flush does not delay the next
            try:
                with self.app.app_context():
                    self.flush(sites)
            except Exception:  # the database may be away: try again on the next wake
                log.warning("visitor hub: flush failed", exc_info=True)
                for site in sites:  # re-read in full on the next wake, not at once
                    failed = self._lines.get(site)
                    if failed is not None:
                        failed.full = True
                        self._dirty_sites.add(site)

    def flush(self, sites: Iterable[SiteId] | None = None) -> None:
        """The lines of `sites` (default: every line), each read in one query."""
        slices = turns.Slices(self.budget)
        chosen = list(self._lines) if sites is None else list(sites)
        for site in chosen:
            line = self._lines.get(site)
            if line is not None:
                self._flush_line(line, slices)
                if not line.phones:
                    self._lines.pop(site, None)

    def _flush_line(self, line: Line, slices: turns.Slices) -> None:
        prune(line, slices)
        if not line.phones:
            return
        full, line.full = line.full, False
        read_at = self._events  # an event batch after this is newer than what is read
        # A read transaction (no write lock on SQLite): it stays open across the turns.
        with read_only() as connection:
            if line.basis is None or time.monotonic() - line.basis_at > BASIS_SECONDS:
                line.basis = follow.read_basis(connection, site=line.site)
                # The line names phones show change only with the lines (LinesChanged).
                line.names = follow.line_names(connection, line.site)
                line.basis_at = time.monotonic()
                slices.check()
            places = follow.waiting_places(connection, site=line.site)
            names = line.names or {}
            slices.check()
            gone = sorted(set(line.phones) - {p.ticket_id for p in places}) if full else []
            others = follow.states(connection, gone)
        self.stats["flushes"] += 1
        basis = line.basis
        for place in places:
            if place.ticket_id in line.phones:
                minutes = basis.minutes(place.ahead + 1) if basis else None
                message = protocol.visitor_waiting(place.ticket_id, place.ahead, minutes,
                                                   names.get(place.line_id))
                self._flushed(line, place.ticket_id, message, 0, full, read_at)
                slices.check()
        for row in others:
            state = follow.state_of(row)
            self._flushed(line, row.id, protocol.visitor_state(state), rank_of(state.status),
                          True, read_at)
            slices.check()

    def _flushed(self, line: Line, ticket_id: int, message: str, rank: int, force: bool,
                 read_at: int) -> None:
        """One ticket's phones get what a flush read, unless an event told them since."""
        for conn in phones_of(line, ticket_id):
            following = conn.follow
            if (following is not None and following.ticket_id == ticket_id
                    and following.told <= read_at):
                self._put(conn, following, message, rank, force)


_HUB: Slot[Hub] = Slot("tablequeue.live.follow.hub")


def install(app: Flask, registry: Registry) -> Hub:
    hub = _HUB.put(app, Hub(registry, app))
    registry.followers.append(hub.on_events)
    registry.after_resync.append(hub.on_resync)
    return hub


def hub_of(app: Flask) -> Hub:
    return _HUB.of(app)

