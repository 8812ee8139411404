"""Tickets: created at the kiosk, claimed once, completed or cancelled by their owner."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tablequeue.db import unit_of_work
from tablequeue.models import Staff, Ticket, TicketStatus, Visitor, utcnow
from tablequeue.outcomes import (
    Outcome, Refusal, TicketClaimed, TicketCreated, TicketEnded, TicketView, refused,
)
from tablequeue.service.identity import staff_for_token
from tablequeue.service.views import in_service, serving_ticket, table_of, ticket_view, waiting

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
NAME_MAX = 100
_FINISHED = (TicketStatus.COMPLETED, TicketStatus.CANCELLED)
# Bidirectional overrides can make a name display as something else on the TV.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _email_refusal(email: str) -> Refusal | None:
    if not email:
        return Refusal.EMAIL_MISSING
    if len(email) > 254 or not EMAIL.fullmatch(email) or not email.isprintable():
        return Refusal.EMAIL_INVALID
    return None


def _name_refusal(name: str) -> Refusal | None:
    if not name:
        return Refusal.NAME_MISSING
    if len(name) > NAME_MAX:
        return Refusal.NAME_TOO_LONG
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI_CONTROLS:
            return Refusal.NAME_NOT_PRINTABLE
    if not any(unicodedata.category(char)[0] in "LNPS" for char in name):
        return Refusal.NAME_NOT_PRINTABLE  # only invisible characters: a blank line on the TV
    return None


def new(email: str, name: str) -> Outcome:
    """A walk-in signs in: remember their latest name and give them a waiting ticket."""
    email, name = email.strip(), name.strip()
    refusal = _email_refusal(email) or _name_refusal(name)
    if refusal:
        return refused(refusal)
    with unit_of_work() as session:
        visitor = _remember(session, email.lower(), name)
        ticket = Ticket(visitor_id=visitor.id, email=email, name=name, created_at=utcnow())
        session.add(ticket)
        session.flush()
        view = ticket_view(ticket, None)
    return Outcome(value=view, events=[TicketCreated(view)])


def _remember(session: Session, key: str, name: str) -> Visitor:
    visitor = session.scalar(select(Visitor).where(Visitor.email == key))
    if visitor is None:
        try:
            with session.begin_nested():
                visitor = Visitor(email=key, name=name)
                session.add(visitor)
            return visitor
        except IntegrityError:
            # Another kiosk registered the same email a moment ago: update theirs.
            visitor = session.scalars(select(Visitor).where(Visitor.email == key)).one()
    visitor.name, visitor.updated_at = name, utcnow()
    return visitor


def query(email: str) -> Outcome:
    """The name most recently given for this email, compared case-insensitively."""
    email = email.strip()
    refusal = _email_refusal(email)
    if refusal:
        return refused(refusal)
    with unit_of_work() as session:
        name = session.scalar(select(Visitor.name).where(Visitor.email == email.lower()))
    return Outcome(value=name) if name is not None else refused(Refusal.NO_VISITOR)


def accept(token_hash: str | None, ticket_id: int | None) -> Outcome:
    """Claim a waiting ticket; the conditional UPDATE makes exactly one claim win."""
    with unit_of_work() as session:
        staff = staff_for_token(session, token_hash)
        if staff is None:
            return refused(Refusal.TOKEN_INVALID)
        table = table_of(session, staff.id)
        if table is None:
            return refused(Refusal.NO_TABLE)
        ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
        refusal = _claim_refusal(ticket) or _busy(session, staff.id)
        if refusal:
            return refused(refusal)
        try:
            with session.begin_nested():
                claimed = session.execute(
                    update(Ticket)
                    .where(Ticket.id == ticket_id, Ticket.status == TicketStatus.WAITING)
                    .values(
                        status=TicketStatus.SERVING, staff_id=staff.id,
                        table_number=table, claimed_at=utcnow(),
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount
        except IntegrityError:
            # The partial unique index: this staff member's other connection won a claim.
            return refused(Refusal.BUSY)
        if claimed != 1:
            session.refresh(ticket)
            return refused(_claim_refusal(ticket) or Refusal.CLAIMED)
        session.refresh(ticket)
        view = ticket_view(ticket, staff.username)
    return Outcome(value=view.id, events=[TicketClaimed(view, table)])


def _claim_refusal(ticket: Ticket | None) -> Refusal | None:
    if ticket is None:
        return Refusal.NO_TICKET
    if ticket.status == TicketStatus.SERVING:
        return Refusal.CLAIMED
    if ticket.status in _FINISHED:
        return Refusal.FINISHED
    return None


def _busy(session: Session, staff_id: int) -> Refusal | None:
    return Refusal.BUSY if serving_ticket(session, staff_id) is not None else None


def complete(token_hash: str | None, ticket_id: int | None) -> Outcome:
    return _end(token_hash, ticket_id, TicketStatus.COMPLETED)


def cancel(token_hash: str | None, ticket_id: int | None) -> Outcome:
    return _end(token_hash, ticket_id, TicketStatus.CANCELLED)


def _end(token_hash: str | None, ticket_id: int | None, status: TicketStatus) -> Outcome:
    """Finish a ticket one owns and is serving; only the owner, only once."""
    with unit_of_work() as session:
        staff = staff_for_token(session, token_hash)
        table = table_of(session, staff.id) if staff else None
        if staff is None or table is None:
            return refused(Refusal.NO_TABLE)
        ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
        if ticket is None:
            return refused(Refusal.NO_TICKET)
        if ticket.status in _FINISHED:
            return refused(Refusal.FINISHED)
        if ticket.staff_id != staff.id or ticket.status != TicketStatus.SERVING:
            return refused(Refusal.NOT_OWNER)
        ended = session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id, Ticket.status == TicketStatus.SERVING,
                   Ticket.staff_id == staff.id)
            .values(status=status, ended_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if ended != 1:
            return refused(Refusal.FINISHED)
        session.refresh(ticket)
        view = ticket_view(ticket, staff.username)
    completed = status == TicketStatus.COMPLETED
    return Outcome(value=view.id, events=[TicketEnded(view, table, completed)])


def waiting_tickets() -> list[TicketView]:
    with unit_of_work() as session:
        return waiting(session)


def tickets_at_tables() -> list[tuple[TicketView, int]]:
    with unit_of_work() as session:
        return in_service(session)


def own_serving(staff_id: int) -> TicketView | None:
    """The ticket this staff member is serving, for a console that (re)connects."""
    with unit_of_work() as session:
        ticket = serving_ticket(session, staff_id)
        if ticket is None:
            return None
        username = session.scalar(select(Staff.username).where(Staff.id == staff_id))
        return ticket_view(ticket, username)
