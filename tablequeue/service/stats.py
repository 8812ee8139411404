"""Numbers for people: a visitor's position and estimated wait, how many are waiting."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tablequeue.db import transaction, unit_of_work
from tablequeue.models import TableAssignment, Ticket, TicketStatus, Visitor, utcnow

RECENT_SERVICES = 20  # the estimate follows the last this-many completed tickets...
RECENT_WINDOW = timedelta(days=30)  # ...that ended within this window


@dataclass(frozen=True)
class KioskTicket:
    """What the kiosk may show anyone about a ticket: no name, no email."""

    id: int
    status: str
    position: int | None  # 1 = next in line; None unless waiting
    table: int | None  # where to go, once claimed
    minutes: int | None  # "about N min"; None without recent history


# Counted once per event batch for displays that sent `watch`: Core, built once, like the
# ticket path (see ticket_sql).
_WAITING_COUNT = (
    select(func.count()).select_from(Ticket.__table__)
    .where(Ticket.__table__.c.status == TicketStatus.WAITING)
)


def waiting_count() -> int:
    with transaction() as connection:
        return connection.execute(_WAITING_COUNT).scalar_one()  # type: ignore[no-any-return]


def waiting_counter(app: Flask):  # type: ignore[no-untyped-def]
    """`waiting_count` bound to an app, for a broadcast that may run outside a request."""

    def count() -> int:
        with app.app_context():
            return waiting_count()

    return count


def kiosk_ticket(ticket_id: int) -> KioskTicket | None:
    with unit_of_work() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            return None
        if ticket.status != TicketStatus.WAITING:
            return KioskTicket(ticket.id, ticket.status, None, ticket.table_number, None)
        position = session.scalar(
            select(func.count()).select_from(Ticket)
            .where(Ticket.status == TicketStatus.WAITING, Ticket.id <= ticket.id)
        ) or 1
        return KioskTicket(ticket.id, ticket.status, position, None, _estimate(session, position))


def waiting_ticket_of(email: str) -> KioskTicket | None:
    """The visitor's own waiting ticket (the oldest, should there be several), by the email
    compared case-insensitively as `query` does; None when they are not waiting. The kiosk
    page gives no second ticket to a visitor this finds (docs/pages.md, "Kiosk")."""
    with unit_of_work() as session:
        ticket_id = session.scalar(
            select(func.min(Ticket.id))
            .join(Visitor, Visitor.id == Ticket.visitor_id)
            .where(Visitor.email == email.strip().lower(), Ticket.status == TicketStatus.WAITING)
        )
    return None if ticket_id is None else kiosk_ticket(ticket_id)


def average_service(session: Session) -> timedelta | None:
    """Mean claim-to-complete time of recent completed tickets; None without history."""
    rows = session.execute(
        select(Ticket.claimed_at, Ticket.ended_at)
        .where(
            Ticket.status == TicketStatus.COMPLETED,
            Ticket.claimed_at.is_not(None),
            Ticket.ended_at > utcnow() - RECENT_WINDOW,
        )
        .order_by(Ticket.ended_at.desc())
        .limit(RECENT_SERVICES)
    ).all()
    spans = [end - start for start, end in rows if start is not None and end is not None]
    if not spans:
        return None
    return sum(spans, timedelta()) / len(spans)


def _estimate(session: Session, position: int) -> int | None:
    mean = average_service(session)
    if mean is None:
        return None
    open_tables = session.scalar(select(func.count()).select_from(TableAssignment)) or 0
    return estimate_minutes(position, mean.total_seconds(), open_tables)


def estimate_minutes(position: int, mean_seconds: float, open_tables: int) -> int:
    """Minutes until a table is free for this position: position x mean service / open
    tables (no table open counts as one). The kiosk and the phones (service.follow) both
    say this, so a visitor never reads two different waits."""
    seconds = position * mean_seconds / max(1, open_tables)
    return max(1, math.ceil(seconds / 60))
