"""Bringing a room's open screens up to date after its relay may have lost messages.

Redis pub/sub is at-most-once: while a worker's subscription to a site's channel is down
(or before it began), the events published meanwhile never reach it. Every connection of
a room saw the same stream (its greeting, then every delivered event of its site), so one
`Picture` per room records what its screens were told. A resync reads that site's state
from the database, compares it with the picture and sends each connection the
messages of the protocol that carry it from the old state to the current one: `claimed`
for tickets that left the queue, `new` for the ones that joined it, `unpick`/`pick`/
`complete`/`cancel`/`claimed` for the display, `taken` for staff without a table. From an
empty picture this is exactly the greeting a new connection gets. Nothing already known is
repeated, so a client written against the protocol needs no special case.

A display is also told the calls it missed: a ticket claimed and finished while the
worker was cut off is replayed as `claimed STAFF T {ticket}` then `complete T` (or
`cancel T`). Its ticket JSON carries a real `end`, which is how the display page knows it
is history, not a call to announce (docs/protocol.md, "Limits and failures")."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tablequeue import protocol
from tablequeue.db import read_only
from tablequeue.live.connection import Role
from tablequeue.live.registry import Registry
from tablequeue.live.rooms import Room
from tablequeue.models import Staff, Ticket, TicketStatus
from tablequeue.outcomes import (
    Event,
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
from tablequeue.service import eventlog
from tablequeue.service.admin import table_count as stored_table_count
from tablequeue.service.away import away_tables
from tablequeue.service.views import in_service, tables_changed, ticket_view, waiting

log = logging.getLogger(__name__)

# Calls replayed after a gap: those that ended from this long before the last event heard
# (other hosts' clocks, a publish that failed a little before) ...
HISTORY_MARGIN = timedelta(seconds=30)
HISTORY_LIMIT = 50  # ... the latest this many, so a long outage does not flood a TV
ENDED_KEPT = 2000  # ended tickets remembered as heard, so none is replayed twice


@dataclass
class Picture:
    """A site's queue as a room's connections last heard it."""

    waiting: set[int] = field(default_factory=set)
    tables: dict[int, int | None] = field(default_factory=dict)  # taken table -> ticket shown
    changed: TablesChanged | None = None  # the last `taken` set heard (None: none yet)
    table_count: int | None = None  # what displays that `watch` were told
    as_of: datetime | None = None  # when the picture was last known complete
    ended: dict[int, None] = field(default_factory=dict)  # recently ended tickets heard of
    away: set[int] = field(default_factory=set)  # tables shown as "Back soon" to watchers

    def apply(self, event: Event) -> None:
        """Follow one delivered event (called for every event, in delivery order)."""
        self.as_of = datetime.now(UTC)
        if isinstance(event, TicketCreated):
            self.waiting.add(event.ticket.id)
            if isinstance(event, TicketRequeued) and event.table is not None:
                if self.tables.get(event.table) == event.ticket.id:
                    self.tables[event.table] = None
        elif isinstance(event, TicketWithdrawn):
            self.waiting.discard(event.ticket.id)
        elif isinstance(event, (TicketClaimed, TicketShown)):
            self.waiting.discard(event.ticket.id)
            self.tables[event.table] = event.ticket.id
        elif isinstance(event, TicketEnded):
            if self.tables.get(event.table) == event.ticket.id:
                self.tables[event.table] = None
            self.heard_ended(event.ticket.id)
        elif isinstance(event, TablePicked):
            self.tables.setdefault(event.table, None)
        elif isinstance(event, TableUnpicked):
            self.tables.pop(event.table, None)
            self.away.discard(event.table)
        elif isinstance(event, TableAway):
            (self.away.add if event.away else self.away.discard)(event.table)
        elif isinstance(event, TablesChanged):
            self.changed = event
        elif isinstance(event, TableCountChanged):
            self.table_count = event.count

    def heard_ended(self, ticket_id: int) -> None:
        self.ended[ticket_id] = None
        if len(self.ended) > ENDED_KEPT:
            del self.ended[next(iter(self.ended))]


@dataclass(frozen=True)
class Truth:
    """The queue as the database has it now, plus the tickets the picture still mentions."""

    waiting: list[TicketView]
    at_tables: dict[int, TicketView]
    changed: TablesChanged
    mentioned: dict[int, TicketView]
    table_count: int
    missed: list[tuple[TicketView, int]] = field(default_factory=list)  # calls, by claim time
    away: set[int] = field(default_factory=set)
    seq: int = 0  # the site's newest event number in the same snapshot: the room's anchor


def read_truth(picture: Picture, site: SiteId) -> Truth:
    """One snapshot (no write lock): everything a resync needs to say about one site, and
    the number of the last change it includes."""
    with read_only() as conn, Session(bind=conn) as session:
        ids = picture.waiting | {t for t in picture.tables.values() if t is not None}
        rows = session.execute(
            select(Ticket, Staff.username).outerjoin(Staff, Staff.id == Ticket.staff_id)
            .where(Ticket.id.in_(sorted(ids)))
        ).all() if ids else []
        return Truth(
            waiting=waiting(session, site=site),
            at_tables={table: ticket for ticket, table in in_service(session, site=site)},
            changed=tables_changed(session, site=site),
            mentioned={t.id: ticket_view(t, name) for t, name in rows},
            table_count=stored_table_count(session, site=site),
            missed=_missed_calls(session, picture, site),
            away=set(away_tables(session, site=site)),
            seq=eventlog.newest(conn, [site]).get(site, 0),
        )


def _missed_calls(session: Session, picture: Picture,
                  site: SiteId) -> list[tuple[TicketView, int]]:
    """Tickets claimed at a table and finished since the picture was last complete, that
    its displays never heard end (nor saw claimed: those are `_cleared`). A picture never
    complete before (a worker's first resync) missed nothing: the recent ones are returned
    all the same, so that the resync records them as heard, and sends none of them."""
    since = picture.as_of or datetime.now(UTC)
    rows = session.execute(
        select(Ticket, Staff.username).outerjoin(Staff, Staff.id == Ticket.staff_id)
        .where(Ticket.site_id == site,
               Ticket.status.in_((TicketStatus.COMPLETED, TicketStatus.CANCELLED)),
               Ticket.table_number.is_not(None), Ticket.claimed_at.is_not(None),
               Ticket.ended_at >= since - HISTORY_MARGIN)
        .order_by(Ticket.claimed_at.desc()).limit(HISTORY_LIMIT)
    ).all()
    shown = set(picture.tables.values())
    # table_number is not NULL (the query says so): the first test only tells the checker.
    return [(ticket_view(t, name), t.table_number) for t, name in reversed(rows)
            if t.table_number is not None and t.id not in picture.ended and t.id not in shown]


def staff_messages(picture: Picture, truth: Truth) -> tuple[list[str], list[TicketView]]:
    """`claimed` for each ticket that stopped waiting; the tickets to announce as `new`."""
    still = {t.id for t in truth.waiting}
    gone = [truth.mentioned[i] for i in sorted(picture.waiting - still) if i in truth.mentioned]
    fresh = [t for t in truth.waiting if t.id not in picture.waiting]
    return [protocol.staff_claimed(t) for t in gone], fresh


def display_messages(picture: Picture, truth: Truth, *, redact_email: bool) -> list[str]:
    """Tables first (as a new display's greeting: `pick` before `claimed`), then tickets."""
    first: list[str] = []
    taken = set(truth.changed.taken)
    missed: dict[int, list[str]] = {}
    for ticket, table in truth.missed if picture.as_of is not None else ():
        ended = protocol.display_complete if ticket.status == TicketStatus.COMPLETED \
            else protocol.display_cancel
        missed.setdefault(table, []).extend(
            [protocol.display_claimed(ticket, table, redact_email=redact_email), ended(table)])
    for table in sorted(set(picture.tables) | taken | set(missed)):
        if table in picture.tables:
            first.extend(_cleared(picture.tables[table], truth, table) if table in taken else [])
        else:
            first.append(protocol.display_pick(table))
        first.extend(missed.get(table, []))
        if table not in taken:
            first.append(protocol.display_unpick(table))
    then = [
        protocol.display_claimed(ticket, table, redact_email=redact_email)
        for table, ticket in sorted(truth.at_tables.items())
        if picture.tables.get(table) != ticket.id
    ]
    return first + then


def _cleared(shown: int | None, truth: Truth, table: int) -> list[str]:
    """A table still taken whose ticket left it: say how it left."""
    now = truth.at_tables.get(table)
    if shown is None or (now is not None and now.id == shown):
        return []
    old = truth.mentioned.get(shown)
    if old is not None and old.status == TicketStatus.COMPLETED:
        return [protocol.display_complete(table)]
    if old is not None and old.status in (TicketStatus.CANCELLED, TicketStatus.WAITING):
        return [protocol.display_cancel(table)]  # a no-show, or put back in line
    # Still served elsewhere (its staff member moved): the live stream said unpick, pick.
    return [protocol.display_unpick(table), protocol.display_pick(table)]


def resync(registry: Registry, room: Room, picture: Picture) -> tuple[int, int]:
    """Send every connection of the room what it missed; then the picture is the truth.
    Returns how many connections were sent something, and the number of the site's last
    change the state read includes (the caller holds `room.order.lock` and anchors the
    room there: tablequeue.live.relay.recover)."""
    truth = read_truth(picture, room.site)
    gone, fresh = staff_messages(picture, truth)
    shown = display_messages(picture, truth, redact_email=not registry.display_shows_email)
    touched = 0
    for conn in room.members(Role.STAFF):
        if conn.staff_id is not None and conn.line_aware:
            # Its whole picture again (a missed priority mark changes no waiting set): its
            # `serve` tells it to rebuild its list from the `new`s that follow.
            registry.fanout.lines.greet(conn)
            touched += 1
            continue
        if conn.staff_id is None or not (gone or fresh):
            continue
        for message in gone:
            conn.send(message)
        for ticket in fresh:
            conn.announce(ticket.id, protocol.staff_new(ticket))
        touched += 1
    if shown:
        for conn in room.members(Role.DISPLAY):
            for message in shown:
                conn.send(message)
            touched += 1
    kiosks = room.line_kiosks()  # a missed change of the site's lines
    registry.fanout.lines.tell_lines(kiosks, room)
    touched += len(kiosks) + _to_watchers(room, picture, truth)
    if truth.changed != picture.changed:
        touched += _tables_changed(registry, room, truth.changed)
    picture.waiting = {t.id for t in truth.waiting}
    picture.tables = {t: None for t in truth.changed.taken}
    picture.tables.update({table: t.id for table, t in truth.at_tables.items()})
    picture.changed = truth.changed
    picture.table_count = truth.table_count
    for ticket, _table in truth.missed:
        picture.heard_ended(ticket.id)
    picture.as_of = datetime.now(UTC)
    picture.away = truth.away
    for after in registry.after_resync:
        after(room.site)
    return touched, truth.seq


def _to_watchers(room: Room, picture: Picture, truth: Truth) -> int:
    """Displays that `watch` the counts: the ones that changed."""
    counts = []
    if picture.waiting != {t.id for t in truth.waiting}:
        counts.append(protocol.display_waiting(len(truth.waiting)))
    if picture.table_count != truth.table_count:
        counts.append(protocol.display_tables(truth.table_count))
    watchers = room.watchers(Role.DISPLAY) if counts else []
    for conn in watchers:
        for message in counts:
            conn.send(message)
    taken = set(truth.changed.taken)  # an untaken table's `unpick` already cleared it
    absences = [protocol.table_away(t) for t in sorted(truth.away - picture.away)]
    absences += [protocol.table_back(t) for t in sorted((picture.away - truth.away) & taken)]
    floor = room.watchers(Role.DISPLAY, Role.STAFF) if absences else []
    for conn in floor:
        for message in absences:
            conn.send(message)
    return len(watchers) + len(floor)


def _tables_changed(registry: Registry, room: Room, changed: TablesChanged) -> int:
    """`taken` to staff without a table, exactly as a live change of the set is sent."""
    before = sum(1 for c in room.members(Role.STAFF) if not c.holds_table)
    registry.deliver([changed])
    return before
