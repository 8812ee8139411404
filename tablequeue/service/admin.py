"""Admin actions from /admin: the number of tables and closing the day (staff accounts
are tablequeue.service.identity's).

Refusals are `AdminError`s whose message is written for the person at the admin page;
changes that open screens must see come back as events, published after commit."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tablequeue.db import unit_of_work
from tablequeue.models import Setting, TableAssignment, Ticket, TicketStatus, utcnow
from tablequeue.outcomes import Event, TableCountChanged, TicketWithdrawn
from tablequeue.service.views import ticket_view

TABLE_COUNT_KEY = "table_count"
TABLES_MAX = 1000


class AdminError(ValueError):
    """An admin action that cannot be done; the message says why, for people."""


def table_count(session: Session) -> int:
    """Tables are numbered 0..count-1: the admin's setting, else TABLE_COUNT from config."""
    stored = session.get(Setting, TABLE_COUNT_KEY)
    return int(stored.value) if stored else int(current_app.config["TABLE_COUNT"])


def current_table_count() -> int:
    with unit_of_work() as session:
        return table_count(session)


def set_table_count(count: int) -> list[Event]:
    """Change the number of tables; refused while a table that would vanish is held."""
    if not 1 <= count <= TABLES_MAX:
        raise AdminError(f"the number of tables must be between 1 and {TABLES_MAX}")
    with unit_of_work() as session:
        highest = session.scalar(select(func.max(TableAssignment.table_number)))
        if highest is not None and highest >= count:
            raise AdminError(
                f"table {highest} is in use: ask its staff member to leave it first"
            )
        stored = session.get(Setting, TABLE_COUNT_KEY)
        if stored is None:
            session.add(Setting(key=TABLE_COUNT_KEY, value=str(count)))
        else:
            stored.value = str(count)
    return [TableCountChanged(count)]


def close_waiting() -> tuple[int, list[Event]]:
    """End of day: cancel every waiting ticket. Staff consoles drop them from their lists."""
    with unit_of_work() as session:
        tickets = list(
            session.scalars(
                select(Ticket).where(Ticket.status == TicketStatus.WAITING).order_by(Ticket.id)
            )
        )
        now = utcnow()
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_([t.id for t in tickets]), Ticket.status == TicketStatus.WAITING)
            .values(status=TicketStatus.CANCELLED, ended_at=now)
            .execution_options(synchronize_session=False)
        )
        for ticket in tickets:
            session.refresh(ticket)
        # A ticket claimed between our read and our update stays claimed: skip it.
        closed = [t for t in tickets if t.status == TicketStatus.CANCELLED]
        events: list[Event] = [TicketWithdrawn(ticket_view(t, None)) for t in closed]
    return len(closed), events
