"""Read helpers shared by the rules: ticket views and the table assignment snapshot."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tablequeue.models import Staff, TableAssignment, Ticket, TicketStatus
from tablequeue.outcomes import TablesChanged, TicketView


def ticket_view(ticket: Ticket, staff_username: str | None) -> TicketView:
    return TicketView(
        id=ticket.id,
        email=ticket.email,
        name=ticket.name,
        staff=staff_username or "",
        start=ticket.created_at,
        end=ticket.ended_at,
        status=ticket.status,
    )


def tables_changed(session: Session) -> TablesChanged:
    rows = session.execute(select(TableAssignment.table_number, TableAssignment.staff_id)).all()
    return TablesChanged(
        holders=frozenset(staff_id for _, staff_id in rows),
        taken=tuple(sorted(table for table, _ in rows)),
    )


def table_of(session: Session, staff_id: int) -> int | None:
    return session.scalar(
        select(TableAssignment.table_number).where(TableAssignment.staff_id == staff_id)
    )


def serving_ticket(session: Session, staff_id: int) -> Ticket | None:
    return session.scalar(
        select(Ticket).where(Ticket.staff_id == staff_id, Ticket.status == TicketStatus.SERVING)
    )


def waiting(session: Session) -> list[TicketView]:
    """Every waiting ticket, oldest first."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.status == TicketStatus.WAITING).order_by(Ticket.id)
    )
    return [ticket_view(t, None) for t in tickets]


def in_service(session: Session) -> list[tuple[TicketView, int]]:
    """Tickets being served at a table right now, with that table, by table number."""
    rows = session.execute(
        select(Ticket, Staff.username, TableAssignment.table_number)
        .join(Staff, Staff.id == Ticket.staff_id)
        .join(TableAssignment, TableAssignment.staff_id == Ticket.staff_id)
        .where(Ticket.status == TicketStatus.SERVING)
        .order_by(TableAssignment.table_number)
    ).all()
    return [(ticket_view(t, username), table) for t, username, table in rows]
