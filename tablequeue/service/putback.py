"""Put back (`requeue ID`): the staff member serving a ticket returns it to the waiting list
with its original start, so it keeps its original place in line. At most REQUEUE_LIMIT
times per ticket: a visitor is not bounced between tables all day."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, select, update

from tablequeue.db import transaction
from tablequeue.models import TicketStatus
from tablequeue.outcomes import (
    REQUEUE_LIMIT,
    Outcome,
    Refusal,
    SiteId,
    TicketRequeued,
    refused,
)
from tablequeue.service import claimbook, known
from tablequeue.service.eventlog import seal
from tablequeue.service.identity import desk_for_token
from tablequeue.service.ticket_end import owner_refusal
from tablequeue.service.ticket_sql import TICKETS, VIEW, updated_view, view_of

# One conditional UPDATE decides: serving, by this staff member, under the limit. A
# concurrent complete/cancel or a second requeue of the same ticket matches nothing.
_REQUEUE = (
    update(TICKETS)
    .where(TICKETS.c.id == bindparam("ticket"), TICKETS.c.site_id == bindparam("site"),
           TICKETS.c.status == TicketStatus.SERVING,
           TICKETS.c.staff_id == bindparam("staff"), TICKETS.c.requeue_count < REQUEUE_LIMIT)
    .values(status=TicketStatus.WAITING, staff_id=None, table_number=None, claimed_at=None,
            requeue_count=TICKETS.c.requeue_count + 1)
)
_REQUEUE_RETURNING = _REQUEUE.returning(*VIEW)
_STATE = select(TICKETS.c.status, TICKETS.c.staff_id, TICKETS.c.requeue_count).where(
    TICKETS.c.id == bindparam("ticket"), TICKETS.c.site_id == bindparam("site"))


def requeue(token_hash: str | None, ticket_id: int | None, *, site: SiteId) -> Outcome[int]:
    """Checks in `complete`'s order, then the limit; on success the ticket waits again. A
    ticket this worker saw ended is first refused, if it can be, from one read."""
    claims = claimbook.book()
    if ticket_id is not None and claims.ended(ticket_id):
        refusal = known.end_refusal(token_hash, ticket_id, site=site)
        if refusal is not None:
            return refused(refusal)
    outcome = _requeue(token_hash, ticket_id, site)
    if ticket_id is not None:
        if outcome.refusal is None:
            claims.forget(ticket_id)  # waiting again: claimable at once
            claims.serving(token_hash, False)
        else:
            claims.learn(ticket_id, outcome.refusal, None)
    return outcome


def _requeue(token_hash: str | None, ticket_id: int | None, site: SiteId) -> Outcome[int]:
    with transaction() as connection:
        desk = desk_for_token(connection, token_hash, site=site)
        if desk is None or desk.table is None:
            return refused(Refusal.NO_TABLE)
        if ticket_id is None:
            return refused(Refusal.NO_TICKET)
        params = {"ticket": ticket_id, "staff": desk.staff_id, "site": site}
        row = updated_view(connection, _REQUEUE, _REQUEUE_RETURNING, params)
        if row is None:
            state = connection.execute(_STATE, params).first()
            return refused(_refusal(state, desk.staff_id))
        view = view_of(row, "", TicketStatus.WAITING, ended=False)
        return Outcome(view.id, seal(connection, [TicketRequeued(view, table=desk.table,
                                                                 site=site)]))


def _refusal(ticket: Row[*tuple[Any, ...]] | None, staff_id: int) -> Refusal:
    """Why the UPDATE matched nothing, in the order of checks of `complete`, then the limit."""
    refusal = owner_refusal(ticket, staff_id)
    if refusal is not None:
        return refusal
    if ticket is not None and ticket.requeue_count >= REQUEUE_LIMIT:
        return Refusal.PUT_BACK_LIMIT
    return Refusal.FINISHED  # ended between the UPDATE and this read
