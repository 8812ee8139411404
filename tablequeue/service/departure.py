"""A staff member leaves for good (account removed or deactivated): their table is freed
and the visitor they were serving goes back to the front of the waiting list, so no
ticket is left `serving` by someone who can never finish it. Each event names the site
it happened at (the table's, the ticket's)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from tablequeue.models import TableAssignment, TicketStatus
from tablequeue.outcomes import Event, SiteId, TableUnpicked, TicketRequeued
from tablequeue.service.views import held_table, serving_ticket, tables_changed, ticket_view


def release(session: Session, staff_id: int) -> list[Event]:
    """Free the staff member's table and requeue their ticket; the events to publish."""
    events: list[Event] = []
    held = held_table(session, staff_id)
    if held is not None:
        session.execute(delete(TableAssignment).where(TableAssignment.staff_id == staff_id))
        events.append(TableUnpicked(held[1], site=held[0]))
    ticket = serving_ticket(session, staff_id)
    if ticket is not None:
        # Waiting again with its original id and start time: it keeps its place in line.
        ticket.status, ticket.staff_id, ticket.claimed_at = TicketStatus.WAITING, None, None
        session.flush()
        events.append(TicketRequeued(ticket_view(ticket, None), site=SiteId(ticket.site_id)))
    if held is not None:
        events.append(tables_changed(session, site=held[0]))
    return events
