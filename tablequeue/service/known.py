"""The read path of a ticket command whose ticket this worker saw taken (claimbook): one
read-only statement gives the token's desk and the ticket's state together, and the
refusal is decided from it in the protocol's order of checks. None means the read found
nothing to refuse (the ticket is waiting again, or is the caller's): take the write path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, select

from tablequeue.db import read_only
from tablequeue.models import TicketStatus, utcnow
from tablequeue.outcomes import Refusal
from tablequeue.service.identity import _DESK
from tablequeue.service.ticket_sql import TICKETS

_FINISHED = (TicketStatus.COMPLETED, TicketStatus.CANCELLED)
_TICKET = TICKETS.c.id == bindparam("ticket")
# _DESK's row plus the ticket's status and owner: the token's checks and the ticket's in
# one round trip. No row: the token is not live.
_DESK_AND_TICKET = _DESK.add_columns(
    select(TICKETS.c.status).where(_TICKET).scalar_subquery().label("ticket_status"),
    select(TICKETS.c.staff_id).where(_TICKET).scalar_subquery().label("ticket_staff"),
)


def _read(token_hash: str, ticket_id: int) -> Row[Any] | None:
    params = {"token_hash": token_hash, "now": utcnow(), "ticket": ticket_id}
    with read_only() as connection:
        return connection.execute(_DESK_AND_TICKET, params).first()


def accept_refusal(token_hash: str | None, ticket_id: int) -> Refusal | None:
    """accept: token -> table -> away -> no such ticket -> claimed -> finished."""
    if not token_hash:
        return Refusal.TOKEN_INVALID
    row = _read(token_hash, ticket_id)
    if row is None:
        return Refusal.TOKEN_INVALID
    if row.table_number is None:
        return Refusal.NO_TABLE
    if row.away_since is not None:
        return Refusal.AWAY
    if row.ticket_status is None:
        return Refusal.NO_TICKET
    if row.ticket_status == TicketStatus.SERVING:
        return Refusal.CLAIMED
    if row.ticket_status in _FINISHED:
        return Refusal.FINISHED
    return None  # waiting again (put back): the claim decides


def end_refusal(token_hash: str | None, ticket_id: int) -> Refusal | None:
    """complete/cancel/requeue: table -> no such ticket -> finished -> not the owner."""
    row = _read(token_hash, ticket_id) if token_hash else None
    if row is None or row.table_number is None:
        return Refusal.NO_TABLE
    if row.ticket_status is None:
        return Refusal.NO_TICKET
    if row.ticket_status in _FINISHED:
        return Refusal.FINISHED
    if row.ticket_status != TicketStatus.SERVING or row.ticket_staff != row.id:
        return Refusal.NOT_OWNER
    return None  # the caller's own ticket in service: the write decides (and the limit)
