"""Read helpers shared by the rules: ticket views and the table assignment snapshot, each
of one site."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tablequeue.models import Site, Staff, TableAssignment, Ticket, TicketStatus
from tablequeue.outcomes import SiteId, TablesChanged, TicketView


def ticket_view(ticket: Ticket, staff_username: str | None) -> TicketView:
    return TicketView(
        id=ticket.id,
        email=ticket.email,
        name=ticket.name,
        staff=staff_username or "",
        start=ticket.created_at,
        end=ticket.ended_at,
        status=ticket.status,
        line=ticket.line_id,
        priority=ticket.priority_reason,
    )


def tables_changed(session: Session, *, site: SiteId) -> TablesChanged:
    rows = session.execute(select(TableAssignment.table_number, TableAssignment.staff_id)
                           .where(TableAssignment.site_id == site)).all()
    return TablesChanged(
        holders=frozenset(staff_id for _, staff_id in rows),
        taken=tuple(sorted(table for table, _ in rows)),
        site=site,
    )


def table_of(session: Session, staff_id: int, *, site: SiteId) -> int | None:
    """The table this staff member holds at this site."""
    return session.scalar(
        select(TableAssignment.table_number)
        .where(TableAssignment.staff_id == staff_id, TableAssignment.site_id == site)
    )


def held_table(session: Session, staff_id: int) -> tuple[SiteId, int] | None:
    """The one table this staff member holds, at whichever site: (site, table)."""
    row = session.execute(
        select(TableAssignment.site_id, TableAssignment.table_number)
        .where(TableAssignment.staff_id == staff_id)
    ).first()
    return (SiteId(row.site_id), row.table_number) if row else None


def site_tables(session: Session, site: SiteId) -> int:
    """How many tables the site has (numbered 0..count-1); 0 for a site that is gone."""
    return session.scalar(select(Site.tables).where(Site.id == site)) or 0


def serving_ticket(session: Session, staff_id: int, *, site: SiteId | None = None) -> Ticket | None:
    """The ticket this staff member serves (one at most, in all), only at `site` if given."""
    query = select(Ticket).where(Ticket.staff_id == staff_id, Ticket.status == TicketStatus.SERVING)
    if site is not None:
        query = query.where(Ticket.site_id == site)
    return session.scalar(query)


def waiting(session: Session, *, site: SiteId) -> list[TicketView]:
    """Every waiting ticket of the site, oldest first."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.site_id == site, Ticket.status == TicketStatus.WAITING)
        .order_by(Ticket.id)
    )
    return [ticket_view(t, None) for t in tickets]


def in_service(session: Session, *, site: SiteId) -> list[tuple[TicketView, int]]:
    """The site's tickets being served at one of its tables now, with that table, by table."""
    rows = session.execute(
        select(Ticket, Staff.username, TableAssignment.table_number)
        .join(Staff, Staff.id == Ticket.staff_id)
        .join(TableAssignment, (TableAssignment.staff_id == Ticket.staff_id)
              & (TableAssignment.site_id == Ticket.site_id))
        .where(Ticket.site_id == site, Ticket.status == TicketStatus.SERVING)
        .order_by(TableAssignment.table_number)
    ).all()
    return [(ticket_view(t, username), table) for t, username, table in rows]
