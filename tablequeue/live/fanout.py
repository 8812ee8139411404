"""Who hears what of one site's events: each event of a run becomes its protocol messages,
formatted and framed once, written to the right connections of that site's room (bound
staff, displays, tableless consoles, watchers). The registry (tablequeue.live.registry)
picks the room; this module never looks at another."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import ParamSpec

from tablequeue import protocol
from tablequeue.live.connection import Connection, Role
from tablequeue.live.delivery import Frame
from tablequeue.live.line_fanout import LineFanout
from tablequeue.live.rooms import Room
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
from tablequeue.service.line_views import LineReader

# Events after which displays that sent `watch` (an extension) get a fresh `waiting N`.
_CHANGES_WAITING = (TicketCreated, TicketClaimed, TicketWithdrawn)

log = logging.getLogger(__name__)
P = ParamSpec("P")


class Fanout:
    def __init__(
        self, *, display_shows_email: bool,
        waiting_count: Callable[[SiteId], int] | None = None,
        tables_now: Callable[[SiteId], TablesChanged] | None = None,
        line_reader: LineReader | None = None,
    ) -> None:
        self.display_shows_email = display_shows_email
        # Consoles and kiosks that opted in to the service lines (docs/lines.md).
        self.lines = LineFanout(line_reader)
        self.waiting_count = waiting_count
        self.tables_now = tables_now
        # Set by tablequeue.live.floorwatch: read this site's floor now (a FloorChanged).
        self.floor_changed: Callable[[SiteId], None] | None = None

    def deliver(self, room: Room, events: list[Event]) -> None:
        """A run of one site's events to that site's room."""
        for event in events:
            try:
                self._deliver(room, event)
            except Exception:  # one bad event must not starve the ones after it
                log.exception("delivering %r failed", type(event).__name__)
        try:
            self.lines.deliver(room, events)
        except Exception:
            log.exception("delivering to line-aware connections failed")
        if any(isinstance(event, _CHANGES_WAITING) for event in events):
            try:
                self._waiting_changed(room)
            except Exception:
                log.exception("counting waiting tickets for displays failed")

    def _waiting_changed(self, room: Room) -> None:
        """One count per batch (closing the day withdraws many tickets at once)."""
        watchers = room.watchers(Role.DISPLAY)
        if watchers and self.waiting_count is not None:
            self._send(watchers, protocol.display_waiting, self.waiting_count(room.site))

    def _deliver(self, room: Room, event: Event) -> None:
        if isinstance(event, TicketRequeued):
            # Not filtered by the bind replay: that replay saw it before it was claimed.
            self._send(room.bound_staff(), protocol.staff_new, event.ticket)
            if event.table is not None:  # put back by its staff member: clear that table
                self._to_displays(room, protocol.display_cancel, event.table)
        elif isinstance(event, TicketCreated):
            # bound_staff: the seed consoles; line-aware ones hear it from self.lines.
            bound = room.bound_staff()
            if bound:
                frame = Frame(protocol.staff_new(event.ticket))
                for conn in bound:
                    conn.send_new(event.ticket.id, frame)
                metrics.delivered(len(bound))
        elif isinstance(event, TicketClaimed):
            self._send(room.bound_staff(), protocol.staff_claimed, event.ticket)
            self._to_displays(room, self._claimed_on_display, event.ticket, event.table)
        elif isinstance(event, TicketShown):
            self._to_displays(room, self._claimed_on_display, event.ticket, event.table)
        elif isinstance(event, TicketEnded):
            ended = protocol.display_complete if event.completed else protocol.display_cancel
            self._to_displays(room, ended, event.table)
        elif isinstance(event, TablePicked):
            self._to_displays(room, protocol.display_pick, event.table)
        elif isinstance(event, TableUnpicked):
            self._to_displays(room, protocol.display_unpick, event.table)
        elif isinstance(event, TablesChanged):
            self._tables_changed(room, event)
        elif isinstance(event, SessionsRevoked):
            self._sessions_revoked(room, event)
        elif isinstance(event, TicketWithdrawn):
            self._send(room.bound_staff(), protocol.staff_withdrawn, event.ticket)
        elif isinstance(event, TableAway):
            say = protocol.table_away if event.away else protocol.table_back
            self._send(room.watchers(Role.DISPLAY, Role.STAFF), say, event.table)
        elif isinstance(event, FloorChanged):
            if self.floor_changed is not None:
                self.floor_changed(room.site)
        elif isinstance(event, TableCountChanged):
            self._send(room.watchers(Role.DISPLAY), protocol.display_tables, event.count)

    def _sessions_revoked(self, room: Room, event: SessionsRevoked) -> None:
        with room.tables_lock:
            now = self._current_tables(room, TablesChanged(frozenset(), event.taken,
                                                           site=room.site))
            message = protocol.staff_taken(now.taken)
            for conn in room.members(Role.STAFF):
                if conn.token_hash is not None and conn.token_hash in event.token_hashes:
                    conn.unbind()
                    conn.send(message)

    def _claimed_on_display(self, ticket: TicketView, table: int) -> str:
        return protocol.display_claimed(ticket, table, redact_email=not self.display_shows_email)

    def _tables_changed(self, room: Room, event: TablesChanged) -> None:
        with room.tables_lock:
            now = self._current_tables(room, event)
            message = protocol.staff_taken(now.taken)
            for conn in room.members(Role.STAFF):
                conn.holds_table = conn.staff_id is not None and conn.staff_id in now.holders
                if not conn.holds_table:
                    conn.send(message)

    def greet_tableless(self, room: Room, conn: Connection) -> None:
        """A staff connection's first `taken`, unless its staff member holds a table here."""
        with room.tables_lock:
            now = self.tables_now(room.site) if self.tables_now else \
                TablesChanged(frozenset(), (), site=room.site)
            conn.holds_table = conn.staff_id is not None and conn.staff_id in now.holders
            if not conn.holds_table:
                conn.send(protocol.staff_taken(now.taken))

    def _current_tables(self, room: Room, event: TablesChanged) -> TablesChanged:
        """The site's assignment as committed now, not as `event` saw it. Events of
        concurrent commits are delivered in any order (greenlets waiting on PostgreSQL,
        other workers), so an event's own snapshot may be older than one already sent;
        reading afresh under the room's lock makes the last `taken` a connection gets, and
        its holds_table flag, those of the latest commit."""
        if self.tables_now is None:
            return event
        try:
            return self.tables_now(room.site)
        except Exception:  # the database is unreachable: the event's view is the best left
            log.warning("reading the table assignment failed; sending the event's", exc_info=True)
            return event

    def _to_displays(self, room: Room, say: Callable[P, str], *args: P.args,
                     **kwargs: P.kwargs) -> None:
        self._send(room.members(Role.DISPLAY), say, *args, **kwargs)

    @staticmethod
    def _send(conns: list[Connection], say: Callable[P, str], *args: P.args,
              **kwargs: P.kwargs) -> None:
        """`say(*args)` to `conns`, formatted only if anyone hears it: a worker whose room
        has none of an event's audience pays no formatting for it."""
        if not conns:
            return
        frame = Frame(say(*args, **kwargs))
        for conn in conns:
            conn.send_frame(frame)
        metrics.delivered(len(conns))  # once per message, not once per socket
