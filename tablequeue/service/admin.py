"""Admin actions from /admin: a site's number of tables and closing its day (staff accounts
are tablequeue.service.identity's, sites tablequeue.service.sites').

Refusals are `AdminError`s whose message is written for the person at the admin page;
changes that open screens must see come back as events, published after commit."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tablequeue.db import unit_of_work
from tablequeue.models import Ticket, TicketStatus, utcnow
from tablequeue.outcomes import Event, SiteId, TableCountChanged, TicketWithdrawn
from tablequeue.service import notify, sites
from tablequeue.service.eventlog import seal
from tablequeue.service.views import site_tables, ticket_view

TABLES_MAX = sites.TABLES_MAX


class AdminError(ValueError):
    """An admin action that cannot be done; the message says why, for people."""


def table_count(session: Session, *, site: SiteId) -> int:
    """Tables are numbered 0..count-1 (the site's own number, Site.tables)."""
    return site_tables(session, site)


def current_table_count(*, site: SiteId) -> int:
    with unit_of_work() as session:
        return table_count(session, site=site)


def set_table_count(count: int, *, site: SiteId) -> list[Event]:
    """Change the site's number of tables; refused while a table that would vanish is held."""
    try:
        with unit_of_work() as session:
            sites.resize(session, site, count)
            return seal(session, [TableCountChanged(count, site=site)])
    except sites.SiteError as refusal:
        raise AdminError(str(refusal)) from None


def close_waiting(*, site: SiteId) -> tuple[int, list[Event]]:
    """End of day at a site: cancel every waiting ticket. Its staff consoles drop them."""
    with unit_of_work() as session:
        tickets = list(
            session.scalars(
                select(Ticket).where(Ticket.site_id == site, Ticket.status == TicketStatus.WAITING)
                .order_by(Ticket.id)
            )
        )
        now = utcnow()
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_([t.id for t in tickets]), Ticket.site_id == site,
                   Ticket.status == TicketStatus.WAITING)
            .values(status=TicketStatus.CANCELLED, ended_at=now)
            .execution_options(synchronize_session=False)
        )
        for ticket in tickets:
            session.refresh(ticket)
        # A ticket claimed between our read and our update stays claimed: skip it.
        closed = [t for t in tickets if t.status == TicketStatus.CANCELLED]
        views = [ticket_view(t, None) for t in closed]
        notify.closed(session.connection(), views, site=site)  # webhooks, if any
        events = seal(session, [TicketWithdrawn(view, site=site) for view in views])
    return len(closed), events
