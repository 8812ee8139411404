"""Phones following a ticket (/ws/visitor): who follows what, and keeping them current.

A phone's own ticket changing (claimed, moved, ended, left) is in the event itself: its
phones get the new state at once, with no query. A ticket ahead leaving the line only
moves the others' positions: that marks the hub dirty, and one flusher per worker, at most
once every FLUSH_SECONDS, reads the waiting list in one query and sends each waiting phone
its position only if it changed. Every worker receives every event (the Redis relay), so
each keeps its own phones current; after a relay gap (resync) every phone is re-read."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterable

from flask import Flask

from tablequeue import protocol
from tablequeue.broadcast import Connection, Registry
from tablequeue.db import transaction
from tablequeue.models import TicketStatus
from tablequeue.outcomes import (
    Event, PhoneState, TicketClaimed, TicketEnded, TicketRequeued, TicketShown,
    TicketWithdrawn,
)
from tablequeue.service import follow

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0  # position updates: at most one a second per phone
BASIS_SECONDS = 60.0
YIELD_EVERY = 200  # phones sent to between two yields of a flush  # the estimate's inputs are re-read this often, not per event
_RANK = {"waiting": 0, "serving": 1}  # anything else is final: 2


def _rank(status: str) -> int:
    return _RANK.get(status, 2)


@dataclass
class Following:
    """What one phone follows and what it was last sent."""

    ticket_id: int
    code: str  # what the phone followed: `refresh` and `leave` use it
    sent: str = ""
    rank: int = 0


@dataclass
class Hub:
    registry: Registry
    app: Flask
    _phones: dict[int, "weakref.WeakSet[Connection]"] = field(default_factory=dict)
    _dirty: threading.Event = field(default_factory=threading.Event)
    _full: bool = False
    _basis: follow.Basis | None = None
    _basis_at: float = 0.0
    _started: bool = False
    stats: dict[str, int] = field(default_factory=lambda: {"flushes": 0, "sent": 0})

    # ---- phones ------------------------------------------------------------------------

    def add(self, conn: Connection, ticket_id: int, code: str) -> Following:
        self._start()
        self.remove(conn)
        following = Following(ticket_id, code)
        conn.follow = following
        self._phones.setdefault(ticket_id, weakref.WeakSet()).add(conn)
        return following

    def remove(self, conn: Connection) -> None:
        following = conn.follow
        if isinstance(following, Following):
            self._phones.get(following.ticket_id, weakref.WeakSet()).discard(conn)
        conn.follow = None

    def count(self) -> int:
        return sum(len(phones) for phones in self._phones.values())

    def send(self, conn: Connection, state: PhoneState, *, force: bool = False,
             message: str | None = None) -> bool:
        """Send `state` unless the phone already has it or already knows a later stage
        (a late event must not take "served" back to "serving"); `force`: a requeue.
        True if it was sent."""
        following = conn.follow
        if not isinstance(following, Following) or following.ticket_id != state.id:
            return False
        rank = _rank(state.status)
        message = message or protocol.visitor_state(state)
        if message == following.sent or (rank < following.rank and not force):
            return False
        following.sent, following.rank = message, rank
        self.stats["sent"] += 1
        conn.send(message)
        return True

    # ---- events (called by Registry.deliver, in every worker) ---------------------------

    def on_events(self, events: Iterable[Event]) -> None:
        moved = False
        last_followed: int | None = None
        for event in events:
            if isinstance(event, TicketRequeued):
                for conn in self._of(event.ticket.id):
                    conn.follow.rank = 0  # type: ignore[union-attr]
                moved = True
                continue
            state = own_state(event)
            if state is not None:
                for conn in self._of(state.id):
                    self.send(conn, state)
            if isinstance(event, (TicketClaimed, TicketWithdrawn)) and not moved:
                # Only a ticket ahead of some followed ticket moves anyone's position.
                if last_followed is None:
                    last_followed = max(self._phones, default=0)
                moved = event.ticket.id < last_followed
        if moved and self._phones:
            self._dirty.set()

    def on_resync(self) -> None:
        """The relay may have lost events: re-read every followed ticket."""
        self._full = True
        self._dirty.set()

    def _of(self, ticket_id: int) -> list[Connection]:
        phones = self._phones.get(ticket_id)
        return list(phones) if phones else []

    # ---- the flusher ---------------------------------------------------------------------

    def _start(self) -> None:
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
            if not woken:
                self._basis = None  # a quiet minute: estimates may have drifted
            last = time.monotonic()  # from the start: a slow flush does not delay the next
            try:
                with self.app.app_context():
                    self.flush()
            except Exception:  # the database may be away: try again on the next wake
                log.warning("visitor hub: flush failed", exc_info=True)
                self._full = True

    def flush(self) -> None:
        for ticket_id in [t for t, phones in list(self._phones.items()) if not phones]:
            self._phones.pop(ticket_id, None)
        followed = {t: list(p) for t, p in list(self._phones.items()) if p}
        if not followed:
            return
        full, self._full = self._full, False
        with transaction() as connection:
            if self._basis is None or time.monotonic() - self._basis_at > BASIS_SECONDS:
                self._basis, self._basis_at = follow.read_basis(connection), time.monotonic()
            line = follow.waiting_ids(connection)
            others = follow.states(connection, sorted(set(followed) - set(line))) if full else []
        self.stats["flushes"] += 1
        basis = self._basis
        sent = 0
        for position, ticket_id in enumerate(line):
            phones = followed.get(ticket_id)
            if phones:
                state = PhoneState(ticket_id, "waiting", ahead=position,
                                   minutes=basis.minutes(position + 1) if basis else None)
                message = protocol.visitor_state(state)
                for conn in phones:
                    sent += self.send(conn, state, force=full, message=message)
                if sent >= YIELD_EVERY:
                    sent = 0
                    time.sleep(0)  # let replies and broadcasts in between a big batch
        for row in others:
            for conn in followed.get(row.id, []):
                self.send(conn, follow.state_of(row), force=True)


def own_state(event: Event) -> PhoneState | None:
    """The new state of the ticket an event is about, when the event says it all."""
    if isinstance(event, (TicketClaimed, TicketShown)):
        return PhoneState(event.ticket.id, "serving", table=event.table)
    if isinstance(event, TicketEnded):
        return PhoneState(event.ticket.id, "served" if event.completed else "no-show")
    if isinstance(event, TicketWithdrawn):
        left = event.ticket.status == TicketStatus.LEFT
        return PhoneState(event.ticket.id, "left" if left else "closed")
    return None


def install(app: Flask, registry: Registry) -> Hub:
    hub = Hub(registry, app)
    registry.followers.append(hub.on_events)
    registry.after_resync.append(hub.on_resync)
    app.extensions["tablequeue.visitor_hub"] = hub
    return hub


def hub_of(app: Any) -> Hub:
    return app.extensions["tablequeue.visitor_hub"]  # type: ignore[no-any-return]

