"""Numbers for people: a visitor's position and estimated wait, how many are waiting."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from tablequeue.db import transaction, unit_of_work
from tablequeue.models import TableAssignment, Ticket, TicketStatus, Visitor, utcnow
from tablequeue.outcomes import SiteId
from tablequeue.service import line_sql

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
    .where(Ticket.__table__.c.site_id == bindparam("site"),
           Ticket.__table__.c.status == TicketStatus.WAITING)
)


def waiting_count(*, site: SiteId) -> int:
    with transaction() as connection:
        return connection.execute(_WAITING_COUNT, {"site": site}).scalar_one()


def waiting_counter(app: Flask) -> Callable[[SiteId], int]:
    """`waiting_count` bound to an app, for a broadcast that may run outside a request."""

    def count(site: SiteId) -> int:
        with app.app_context():
            return waiting_count(site=site)

    return count


def kiosk_ticket(ticket_id: int, *, site: SiteId) -> KioskTicket | None:
    """What the site's kiosk may show of one of its tickets (another site's: None)."""
    with unit_of_work() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or ticket.site_id != site:
            return None
        if ticket.status != TicketStatus.WAITING:
            return KioskTicket(ticket.id, ticket.status, None, ticket.table_number, None)
        # Its place in its own line, under the order rule (docs/lines.md).
        position = line_sql.ahead_of(session.connection(), ticket.id, ticket.line_id) + 1
        return KioskTicket(ticket.id, ticket.status, position, None,
                           _estimate(session, position, site))


def waiting_ticket_of(email: str, *, site: SiteId) -> KioskTicket | None:
    """The visitor's own waiting ticket (the oldest, should there be several), by the email
    compared case-insensitively as `query` does; None when they are not waiting. The kiosk
    page gives no second ticket to a visitor this finds (docs/pages.md, "Kiosk")."""
    with unit_of_work() as session:
        ticket_id = session.scalar(
            select(func.min(Ticket.id))
            .join(Visitor, Visitor.id == Ticket.visitor_id)
            .where(Visitor.site_id == site, Visitor.email == email.strip().lower(),
                   Ticket.site_id == site, Ticket.status == TicketStatus.WAITING)
        )
    return None if ticket_id is None else kiosk_ticket(ticket_id, site=site)


def average_service(session: Session, *, site: SiteId) -> timedelta | None:
    """Mean claim-to-complete time of the site's recent completed tickets; None without
    history."""
    rows = session.execute(
        select(Ticket.claimed_at, Ticket.ended_at)
        .where(
            Ticket.site_id == site,
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


def _estimate(session: Session, position: int, site: SiteId) -> int | None:
    mean = average_service(session, site=site)
    if mean is None:
        return None
    open_tables = session.scalar(select(func.count()).select_from(TableAssignment)
                                 .where(TableAssignment.site_id == site)) or 0
    return estimate_minutes(position, mean.total_seconds(), open_tables)


def estimate_minutes(position: int, mean_seconds: float, open_tables: int) -> int:
    """Minutes until a table is free for this position: position x mean service / open
    tables (no table open counts as one). The kiosk and the phones (service.follow) both
    say this, so a visitor never reads two different waits."""
    seconds = position * mean_seconds / max(1, open_tables)
    return max(1, math.ceil(seconds / 60))
