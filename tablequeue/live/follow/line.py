"""One site's phones on a worker (a `Line` of the visitor hub, tablequeue.live.follow.hub):
which connection follows which ticket, and the state an event gives its own ticket's
phones without a query."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from tablequeue import turns
from tablequeue.live.connection import Connection
from tablequeue.live.follow.following import Following
from tablequeue.models import TicketStatus
from tablequeue.outcomes import (
    Event,
    PhoneState,
    SiteId,
    TicketClaimed,
    TicketEnded,
    TicketShown,
    TicketWithdrawn,
)
from tablequeue.service import follow

_RANK = {"waiting": 0, "serving": 1}  # anything else is final: 2


def rank_of(status: str) -> int:
    return _RANK.get(status, 2)


@dataclass
class Line:
    """One site's phones on this worker: its waiting line is what their positions are in."""

    site: SiteId
    # Weak: a phone that hangs up is dropped with its connection, whoever forgets it.
    phones: dict[int, list[weakref.ref[Connection]]] = field(default_factory=dict)
    last: int = 0  # the highest followed ticket (stale-high until the next flush prunes)
    full: bool = False  # re-read every followed ticket (after a resync, or a failed flush)
    basis: follow.Basis | None = None
    names: dict[int, str] | None = None  # its lines' names, if it has several
    basis_at: float = 0.0


def phones_of(line: Line, ticket_id: int) -> list[Connection]:
    refs = line.phones.get(ticket_id)
    if not refs:
        return []
    return [conn for conn in (ref() for ref in refs) if conn is not None]


def following_of(line: Line, ticket_id: int) -> list[tuple[Connection, Following]]:
    """The ticket's phones with what they follow (a phone listed here follows it: add
    and remove keep the two together)."""
    return [(conn, conn.follow) for conn in phones_of(line, ticket_id) if conn.follow is not None]


def prune(line: Line, slices: turns.Slices) -> None:
    """Forget phones that hung up and tickets nobody follows any more."""
    for ticket_id in list(line.phones):
        refs = line.phones.get(ticket_id)
        if refs is not None and any(ref() is None for ref in refs):
            refs[:] = [ref for ref in refs if ref() is not None]
        if not refs:
            line.phones.pop(ticket_id, None)
        slices.check()
    line.last = max(line.phones, default=0)


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
