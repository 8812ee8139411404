"""Who hears what of the service lines (docs/lines.md), among the connections that opted
in with `lines`: a line-aware console hears the tickets of the lines its staff member
serves (and its own claims), each with its line and priority, and each of those lines'
order after a change; line-aware consoles and kiosks hear the site's lines. Seed
connections never reach this module (tablequeue.live.fanout keeps them as they were), and
a room without line-aware connections costs no read here."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from tablequeue import protocol
from tablequeue.live.connection import Connection
from tablequeue.live.delivery import Frame
from tablequeue.live.rooms import Room
from tablequeue.outcomes import (
    Event,
    LinesChanged,
    ServeChanged,
    TicketClaimed,
    TicketCreated,
    TicketMarked,
    TicketRequeued,
    TicketView,
    TicketWithdrawn,
)
from tablequeue.service.line_views import LineReader

log = logging.getLogger(__name__)


class LineFanout:
    def __init__(self, reader: LineReader | None) -> None:
        self.reader = reader

    def greet(self, conn: Connection) -> None:
        """A bound line-aware console's whole picture: `serve` (its lines), then `new` for
        each of their waiting tickets, its own `claimed`, each line's `order`. Under the
        connection's lock, like a bind replay: no broadcast slips in between."""
        if self.reader is None or conn.staff_id is None:
            return
        with conn.lock:
            view = self.reader.console(conn.staff_id, conn.site)
            conn.username, conn.serves = view.username, frozenset(view.served)
            conn.send_held(protocol.serving_lines(view.served))
            for ticket in view.waiting:
                conn.send_held(protocol.lined_new(ticket))
            conn.replayed({ticket.id for ticket in view.waiting})
            if view.serving is not None:
                conn.send_held(protocol.lined_claimed(view.serving))
            for line in view.served:
                conn.send_held(protocol.line_order(line, view.orders.get(line, [])))

    def tell_lines(self, conns: Iterable[Connection], room: Room) -> None:
        """`lines [...]`: the site's lines now (after `success lines`, or a change)."""
        conns = list(conns)
        if conns and self.reader is not None:
            frame = Frame(protocol.lines_list(self.reader.lines(room.site)))
            for conn in conns:
                conn.send_frame(frame)

    def deliver(self, room: Room, events: list[Event]) -> None:
        """A run of one site's events, for its line-aware connections."""
        staff = room.line_staff()
        if any(isinstance(event, LinesChanged) for event in events):
            self.tell_lines(room.line_kiosks() + staff, room)
        if not staff:
            return
        touched: set[int] = set()
        for event in events:
            try:
                touched |= self._deliver(staff, event)
            except Exception:  # one bad event must not starve the ones after it
                log.exception("delivering %r to line-aware consoles failed",
                              type(event).__name__)
        try:
            self._orders(staff, touched)
        except Exception:
            log.exception("sending the lines' order failed")

    def _deliver(self, staff: list[Connection], event: Event) -> set[int]:
        """Send what `event` means to line-aware consoles; the lines whose order it changed."""
        if isinstance(event, (TicketRequeued, TicketMarked)):
            # Announced again even to a console that has it: an update (upsert by id).
            self._send(_serving(staff, event.ticket), protocol.lined_new(event.ticket))
        elif isinstance(event, TicketCreated):
            frame = Frame(protocol.lined_new(event.ticket))
            for conn in _serving(staff, event.ticket):
                conn.send_new(event.ticket.id, frame)
        elif isinstance(event, (TicketClaimed, TicketWithdrawn)):
            ticket = event.ticket
            told = [c for c in staff if ticket.line in c.serves
                    or (ticket.staff and c.username == ticket.staff)]
            self._send(told, protocol.lined_claimed(ticket))
        elif isinstance(event, (ServeChanged, LinesChanged)):
            for conn in staff:
                if isinstance(event, LinesChanged) or conn.staff_id == event.staff_id:
                    self.greet(conn)  # its lines (may) have changed: the whole picture
            return set()
        else:
            return set()
        return {event.ticket.line}

    def _orders(self, staff: list[Connection], touched: set[int]) -> None:
        """`order LINE …` once per changed line, to the consoles serving it."""
        wanted = {line for line in touched if any(line in c.serves for c in staff)}
        if not wanted or self.reader is None:
            return
        for line, ids in self.reader.orders(sorted(wanted)).items():
            self._send([c for c in staff if line in c.serves], protocol.line_order(line, ids))

    @staticmethod
    def _send(conns: Iterable[Connection], message: str) -> None:
        frame = Frame(message)
        for conn in conns:
            conn.send_frame(frame)


def _serving(staff: list[Connection], ticket: TicketView) -> list[Connection]:
    return [conn for conn in staff if ticket.line in conn.serves]
