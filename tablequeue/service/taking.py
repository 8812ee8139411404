"""The staff's line commands (docs/lines.md): `next` takes the head of one's lines,
`priority` marks a waiting ticket, `transfer` sends the ticket one serves to another line
at its original arrival's place, `serve` chooses one's lines. Each is one transaction and
returns an Outcome with the events to publish, like service.tickets."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, exists, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tablequeue.db import rowcount, transaction, unit_of_work
from tablequeue.models import Ticket, TicketStatus, Transfer, utcnow
from tablequeue.outcomes import (
    REQUEUE_LIMIT,
    Outcome,
    Refusal,
    SiteId,
    TicketClaimed,
    TicketMarked,
    TicketTransferred,
    refused,
)
from tablequeue.service import claimbook, line_sql, lines, notify, ticket_sql
from tablequeue.service.eventlog import seal, sealed
from tablequeue.service.identity import desk_for_token, staff_for_token
from tablequeue.service.sites import is_member
from tablequeue.service.ticket_end import owner_refusal
from tablequeue.service.ticket_sql import TICKETS, VIEW, updated_view, view_of
from tablequeue.service.views import ticket_view

REASON_MAX = 60
# A raced `next` that lost its ticket reads the heads again; each loss is someone else's
# take, so this many in a row means the lines emptied meanwhile or a storm: give up.
ATTEMPTS = 50
_SERVING = exists().where(TICKETS.c.staff_id == bindparam("staff"),
                          text("tickets.status = 'serving'"))
_MINE = (TICKETS.c.id == bindparam("ticket"), TICKETS.c.site_id == bindparam("site"))
_STATE = select(TICKETS.c.status, TICKETS.c.staff_id, TICKETS.c.requeue_count,
                TICKETS.c.line_id, TICKETS.c.claimed_at).where(*_MINE)
_TRANSFER = (
    update(TICKETS)
    .where(*_MINE, TICKETS.c.status == TicketStatus.SERVING,
           TICKETS.c.staff_id == bindparam("staff"), TICKETS.c.requeue_count < REQUEUE_LIMIT)
    .values(status=TicketStatus.WAITING, staff_id=None, table_number=None, claimed_at=None,
            requeue_count=TICKETS.c.requeue_count + 1, line_id=bindparam("to_line"),
            transferred_from=TICKETS.c.line_id, passed=0)
)
_TRANSFER_RETURNING = _TRANSFER.returning(*VIEW)


# ---- next ---------------------------------------------------------------------------------


def next_ticket(token_hash: str | None, *, site: SiteId) -> Outcome[int]:
    """Claim the head of the staff member's lines (docs/lines.md, the order rule)."""
    claims = claimbook.book()
    try:
        with transaction() as connection:
            outcome = _next(connection, token_hash, site)
    except IntegrityError:  # the partial unique index: serving already (another console)
        outcome = refused(Refusal.BUSY)
    if outcome.refusal is None:
        claims.learn(outcome.value, None, claimbook.SERVING)
    if outcome.refusal in (None, Refusal.BUSY):
        claims.serving(token_hash, True)
    return outcome


def _next(connection: Connection, token_hash: str | None, site: SiteId) -> Outcome[int]:
    desk = desk_for_token(connection, token_hash, site=site)
    if desk is None:
        return refused(Refusal.TOKEN_INVALID)
    if desk.table is None:
        return refused(Refusal.NO_TABLE)
    if desk.away:
        return refused(Refusal.AWAY)
    if connection.execute(select(_SERVING), {"staff": desk.staff_id}).scalar():
        return refused(Refusal.BUSY)
    mine = line_sql.served(connection, desk.staff_id, site)
    line_sql.lock(connection, mine)
    for _ in range(ATTEMPTS):
        chosen = line_sql.head(connection, site, mine)
        if chosen is None:
            break
        row = ticket_sql.claim(connection, chosen, desk.staff_id, desk.table, utcnow(),
                               site=site)
        if row is not None:  # else another took it first (an `accept`): read again
            line_sql.pass_over(connection, row.line_id, row.id,
                               row.priority_reason is not None)
            view = view_of(row, desk.username, TicketStatus.SERVING)
            # Mail, texts and the webhook, as for an `accept`: in the same transaction.
            notify.claimed(connection, view, desk.table, site=site)
            return Outcome(view.id, seal(connection, [TicketClaimed(view, desk.table, site=site)]))
    return refused(Refusal.NOTHING_WAITING)


# ---- priority -------------------------------------------------------------------------------


def reason_refusal(reason: str) -> Refusal | None:
    """Why `reason` cannot be a priority reason (one short printable line), or None."""
    if not reason:
        return Refusal.REASON_MISSING
    if len(reason) > REASON_MAX:
        return Refusal.REASON_TOO_LONG
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in reason):
        return Refusal.REASON_NOT_PRINTABLE
    return None


def mark_priority(token_hash: str | None, ticket_id: int | None, reason: str, *,
                  site: SiteId) -> Outcome[int]:
    """Mark a waiting ticket of the site as priority (again: a new reason). Staff only."""
    reason = reason.strip()
    with unit_of_work() as session:
        staff = staff_for_token(session, token_hash)
        if staff is None or not is_member(session, staff.id, site):
            return refused(Refusal.TOKEN_INVALID)
        ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
        if ticket is None or ticket.site_id != site:
            return refused(Refusal.NO_TICKET)
        if ticket.status != TicketStatus.WAITING:
            return refused(Refusal.TICKET_NOT_WAITING)
        refusal = reason_refusal(reason)
        if refusal is not None:
            return refused(refusal)
        marked = session.execute(
            update(Ticket).where(Ticket.id == ticket.id, Ticket.status == TicketStatus.WAITING)
            .values(priority_reason=reason).execution_options(synchronize_session=False))
        if rowcount(marked) != 1:  # accepted since the read
            return refused(Refusal.TICKET_NOT_WAITING)
        # It went ahead of others: it may be near the front now ("almost up" mail, text).
        notify.line_moved(session.connection(), site=site)
        session.refresh(ticket)
        return Outcome(ticket.id,
                       seal(session, [TicketMarked(ticket_view(ticket, None), site=site)]))


# ---- transfer -------------------------------------------------------------------------------


def transfer(token_hash: str | None, ticket_id: int | None, line_id: int | None, *,
             site: SiteId) -> Outcome[int]:
    """The ticket one serves waits again, in another line of the site, at the place its
    original arrival gives it; it counts as served in the first line (a Transfer row)."""
    claims = claimbook.book()
    outcome = _transfer(token_hash, ticket_id, line_id, site)
    if ticket_id is not None and outcome.refusal is None:
        claims.forget(ticket_id)  # waiting again: claimable at once
        claims.serving(token_hash, False)
    return outcome


def _transfer(token_hash: str | None, ticket_id: int | None, line_id: int | None,
              site: SiteId) -> Outcome[int]:
    with transaction() as connection:
        desk = desk_for_token(connection, token_hash, site=site)
        if desk is None or desk.table is None:
            return refused(Refusal.NO_TABLE)
        if ticket_id is None:
            return refused(Refusal.NO_TICKET)
        params = {"ticket": ticket_id, "site": site, "staff": desk.staff_id, "to_line": line_id}
        state = connection.execute(_STATE, params).first()
        refusal = owner_refusal(state, desk.staff_id) or _line_refusal(
            connection, state, line_id, site)
        if refusal is not None:
            return refused(refusal)
        assert state is not None  # owner_refusal refuses a missing ticket
        row = updated_view(connection, _TRANSFER, _TRANSFER_RETURNING, params)
        if row is None:  # completed, cancelled or put back since the read
            again = connection.execute(_STATE, params).first()
            return refused(owner_refusal(again, desk.staff_id) or Refusal.FINISHED)
        connection.execute(insert(Transfer.__table__).values(
            site_id=site, ticket_id=ticket_id, from_line_id=state.line_id, to_line_id=line_id,
            staff_id=desk.staff_id, table_number=desk.table, claimed_at=state.claimed_at,
            transferred_at=utcnow()))
        notify.line_moved(connection, site=site)
        view = view_of(row, "", TicketStatus.WAITING, ended=False)
        return Outcome(view.id, seal(connection, [TicketTransferred(
            view, table=desk.table, from_line=state.line_id, site=site)]))


def _line_refusal(connection: Connection, state: Row[*tuple[Any, ...]] | None,
                  line_id: int | None, site: SiteId) -> Refusal | None:
    """The line's checks of `transfer`, after the ticket's, then the limit."""
    line = next((found for found in line_sql.site_lines(connection, site)
                 if found.id == line_id), None)
    if line is None or state is None:
        return Refusal.NO_LINE
    if line.id == state.line_id:
        return Refusal.SAME_LINE
    if not line.open:
        return Refusal.LINE_CLOSED
    if state.requeue_count >= REQUEUE_LIMIT:
        return Refusal.MOVE_LIMIT
    return None


# ---- serve ---------------------------------------------------------------------------------


def serve(token_hash: str | None, line_ids: Sequence[int | None], *,
          site: SiteId) -> Outcome[list[int]]:
    """Choose the lines one serves at this site (kept per account and site)."""
    with unit_of_work() as session:
        staff = staff_for_token(session, token_hash)
        if staff is None or not is_member(session, staff.id, site):
            return refused(Refusal.TOKEN_INVALID)
        if any(line_id is None for line_id in line_ids):
            return refused(Refusal.NO_LINE)
        return sealed(session, lines.choose(session, staff.id, site,
                                            [i for i in line_ids if i is not None]))
