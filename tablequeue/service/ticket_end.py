"""Ending a ticket (complete, cancel): only by the staff member serving it, only once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row
from sqlalchemy.engine import Connection

from tablequeue.db import transaction
from tablequeue.models import TicketStatus, utcnow
from tablequeue.outcomes import Outcome, Refusal, SiteId, TicketEnded, refused
from tablequeue.service import claimbook, known, notify, ticket_sql
from tablequeue.service.eventlog import seal
from tablequeue.service.identity import desk_for_token


def end(token_hash: str | None, ticket_id: int | None, status: str,
        site: SiteId) -> Outcome[int]:
    """Finish a ticket one owns and is serving; only the owner, only once. A ticket this
    worker saw ended is first refused, if it can be, from one read (claimbook)."""
    claims = claimbook.book()
    if ticket_id is not None and claims.ended(ticket_id):
        refusal = known.end_refusal(token_hash, ticket_id, site=site)
        if refusal is not None:
            return refused(refusal)
    outcome = _write_end(token_hash, ticket_id, status, site)
    if ticket_id is not None:
        claims.learn(ticket_id, outcome.refusal, claimbook.ENDED)
    if outcome.refusal is None:
        claims.serving(token_hash, False)
    return outcome


def _write_end(token_hash: str | None, ticket_id: int | None, status: str,
               site: SiteId) -> Outcome[int]:
    with transaction() as connection:
        if ticket_id is not None and token_hash and ticket_sql.at_desk(connection):
            ended = _end_at_desk(connection, token_hash, ticket_id, status, site)
        else:
            ended = _end_by_desk(connection, token_hash, ticket_id, status, site)
        if isinstance(ended, Refusal):
            return refused(ended)
        row, username, table = ended
        view = ticket_sql.view_of(row, username, status)
        completed = status == TicketStatus.COMPLETED
        notify.ended(connection, view, table, completed, site=site)
        return Outcome(value=view.id,
                       events=seal(connection, [TicketEnded(view, table, completed, site=site)]))


_Ended = tuple[Row[*tuple[Any, ...]], str, int] | Refusal  # (row, username, table) or why not


def _end_at_desk(connection: Connection, token_hash: str, ticket_id: int, status: str,
                 site: SiteId) -> _Ended:
    """The end with the desk's checks in its own UPDATE; a refused one reads why."""
    row = ticket_sql.end_at_desk(connection, token_hash, ticket_id, status, utcnow(), site=site)
    if row is None:
        desk_and_ticket = known.in_transaction(connection, token_hash, ticket_id, site=site)
        # None: the caller's own ticket in service by the time of the read: ended meanwhile.
        return known.end_verdict(desk_and_ticket) or Refusal.FINISHED
    return row, row.username, row.desk_table


def _end_by_desk(connection: Connection, token_hash: str | None, ticket_id: int | None,
                 status: str, site: SiteId) -> _Ended:
    """The desk read first, then the plain UPDATE (no ticket given, or no RETURNING)."""
    desk = desk_for_token(connection, token_hash, site=site)
    if desk is None or desk.table is None:
        return Refusal.NO_TABLE
    if ticket_id is None:
        return Refusal.NO_TICKET
    row = ticket_sql.end(connection, ticket_id, desk.staff_id, status, utcnow(), site=site)
    if row is None:
        state = ticket_sql.state(connection, ticket_id, site=site)
        return _end_refusal(state, desk.staff_id)
    return row, desk.username, desk.table


def owner_refusal(ticket: Row[*tuple[Any, ...]] | None, staff_id: int) -> Refusal | None:
    """The first of no such ticket, finished, not yours that holds (complete, cancel and
    requeue share this order), or None when the ticket is this staff member's, serving."""
    if ticket is None:
        return Refusal.NO_TICKET
    if ticket.status in TicketStatus.FINISHED:
        return Refusal.FINISHED
    if ticket.staff_id != staff_id or ticket.status != TicketStatus.SERVING:
        return Refusal.NOT_OWNER
    return None


def _end_refusal(ticket: Row[*tuple[Any, ...]] | None, staff_id: int) -> Refusal:
    """Why the UPDATE matched nothing, in the protocol's order of checks."""
    refusal = owner_refusal(ticket, staff_id)
    return Refusal.FINISHED if refusal is None else refusal  # None: ended since the UPDATE
