"""Tickets: created at the kiosk, claimed once, completed or cancelled by their owner."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tablequeue.db import transaction, unit_of_work
from tablequeue.models import Staff, TicketStatus, Visitor, utcnow
from tablequeue.outcomes import (
    Outcome,
    Refusal,
    SiteId,
    TicketClaimed,
    TicketCreated,
    TicketView,
    refused,
)
from tablequeue.service import claimbook, known, line_sql, notify, ticket_end, ticket_sql
from tablequeue.service.eventlog import seal
from tablequeue.service.floor import closed_now
from tablequeue.service.identity import desk_for_token
from tablequeue.service.views import in_service, serving_ticket, ticket_view, waiting

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
NAME_MAX = 100
# Bidirectional overrides can make a name display as something else on the TV.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def email_refusal(email: str) -> Refusal | None:
    """Why `email` cannot be a visitor's address, or None; the kiosk's `notices` asks too."""
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


def new(email: str, name: str, *, site: SiteId, line: int | None = None) -> Outcome[TicketView]:
    """A walk-in signs in at a site's kiosk: remember their latest name there and give them
    a waiting ticket of that site, in `line` (a kiosk's `join`) or the first open line."""
    email, name = email.strip(), name.strip()
    refusal = email_refusal(email) or _name_refusal(name)
    now = utcnow()
    with transaction() as connection:
        settings, lines = ticket_sql.new_inputs(connection, site)
        # Closed first: a visitor who cannot join now need not fix a typo first.
        if closed_now(settings):
            return refused(Refusal.CLOSED)
        chosen = _line_refusal(lines or line_sql.first_line(connection, site), line)
        if isinstance(chosen, Refusal):
            return refused(chosen)
        if refusal:
            return refused(refusal)
        ticket_id = ticket_sql.sign_in(connection, email, name, now, site=site, line=chosen)
        view = TicketView(ticket_id, email, name, "", now, None, TicketStatus.WAITING, chosen)
        notify.created(connection, view, site=site)  # webhooks, if the site has any
        return Outcome(value=view, events=seal(connection, [TicketCreated(view, site=site)]))


def _line_refusal(lines: list[line_sql.LineRow], wanted: int | None) -> int | Refusal:
    """The line a new ticket goes to, or why none: every line closed is a closed queue."""
    if not any(line.open for line in lines):
        return Refusal.CLOSED
    if wanted is None:
        return next(line.id for line in lines if line.open)
    found = next((line for line in lines if line.id == wanted), None)
    if found is None:
        return Refusal.NO_LINE
    return found.id if found.open else Refusal.LINE_CLOSED


def query(email: str, *, site: SiteId) -> Outcome[str]:
    """The name most recently given for this email at this site (never another site's),
    compared case-insensitively."""
    email = email.strip()
    refusal = email_refusal(email)
    if refusal:
        return refused(refusal)
    with unit_of_work() as session:
        name = session.scalar(select(Visitor.name).where(Visitor.site_id == site,
                                                         Visitor.email == email.lower()))
    return Outcome(value=name) if name is not None else refused(Refusal.NO_VISITOR)


def accept(token_hash: str | None, ticket_id: int | None, *, site: SiteId) -> Outcome[int]:
    """Claim a waiting ticket; the conditional UPDATE makes exactly one claim win. A ticket
    this worker saw taken is first refused, if it can be, from one read (claimbook)."""
    if ticket_id is None:
        return _claim(token_hash, ticket_id, site)
    claims = claimbook.book()
    claims.landing(ticket_id)
    if claims.taken(ticket_id) or claims.busy(token_hash):
        refusal = known.accept_refusal(token_hash, ticket_id, site=site)
        if refusal is not None:
            return refused(refusal)
    with claims.flying(ticket_id):
        outcome = _claim(token_hash, ticket_id, site)
    claims.learn(ticket_id, outcome.refusal, claimbook.SERVING)
    if outcome.refusal in (None, Refusal.BUSY):
        claims.serving(token_hash, True)
    return outcome


def _claim(token_hash: str | None, ticket_id: int | None, site: SiteId) -> Outcome[int]:
    try:
        with transaction() as connection:
            return _accept(connection, token_hash, ticket_id, site)
    except IntegrityError:
        # The partial unique index: this staff member already serves a ticket (maybe just
        # claimed on their other connection). The UPDATE was the transaction's only write,
        # and on PostgreSQL the error aborts the transaction, so it ends here, rolled
        # back, and becomes the refusal outside it.
        return refused(Refusal.BUSY)


def _accept(connection: Connection, token_hash: str | None,
            ticket_id: int | None, site: SiteId) -> Outcome[int]:
    if ticket_id is not None and token_hash and ticket_sql.at_desk(connection):
        return _accept_at_desk(connection, token_hash, ticket_id, site)
    desk = desk_for_token(connection, token_hash, site=site)
    if desk is None:
        return refused(Refusal.TOKEN_INVALID)
    if desk.table is None:
        return refused(Refusal.NO_TABLE)
    if desk.away:  # a property of the staff member, like having no table: before the ticket
        return refused(Refusal.AWAY)
    if ticket_id is None:
        return refused(Refusal.NO_TICKET)
    # Tried first, explained after: only a refused claim pays for reading why.
    row = ticket_sql.claim(connection, ticket_id, desk.staff_id, desk.table, utcnow(), site=site)
    if row is None:
        state = ticket_sql.state(connection, ticket_id, site=site)
        return refused(_claim_refusal(state) or Refusal.CLAIMED)
    return _claimed(connection, row, desk.username, desk.table, site)


def _accept_at_desk(connection: Connection, token_hash: str, ticket_id: int,
                    site: SiteId) -> Outcome[int]:
    """The claim with the desk's checks in its own UPDATE (one round trip for a winner);
    a refused one reads why, in the protocol's order, as the UPDATE left things."""
    row = ticket_sql.claim_at_desk(connection, token_hash, ticket_id, utcnow(), site=site)
    if row is None:
        desk_and_ticket = known.in_transaction(connection, token_hash, ticket_id, site=site)
        # None: waiting again by the time of the read (PostgreSQL): it was taken meanwhile.
        return refused(known.accept_verdict(desk_and_ticket) or Refusal.CLAIMED)
    return _claimed(connection, row, row.username, row.desk_table, site)


def _claimed(connection: Connection, row: Row[*tuple[Any, ...]], username: str, table: int,
             site: SiteId) -> Outcome[int]:
    """What a won claim writes besides the ticket, and its event."""
    line_sql.pass_over(connection, row.line_id, row.id, row.priority_reason is not None)
    view = _view(row, username, TicketStatus.SERVING)
    # Mail, texts and webhooks, where configured: in the same transaction.
    notify.claimed(connection, view, table, site=site)
    return Outcome(value=view.id, events=seal(connection, [TicketClaimed(view, table, site=site)]))


def _claim_refusal(ticket: Row[*tuple[Any, ...]] | None) -> Refusal | None:
    """Why a ticket cannot be claimed; None for a waiting one (then only BUSY is left,
    and the UPDATE itself says that)."""
    if ticket is None:
        return Refusal.NO_TICKET
    if ticket.status == TicketStatus.SERVING:
        return Refusal.CLAIMED
    if ticket.status in TicketStatus.FINISHED:
        return Refusal.FINISHED
    return None


def complete(token_hash: str | None, ticket_id: int | None, *, site: SiteId) -> Outcome[int]:
    return ticket_end.end(token_hash, ticket_id, TicketStatus.COMPLETED, site)


def cancel(token_hash: str | None, ticket_id: int | None, *, site: SiteId) -> Outcome[int]:
    return ticket_end.end(token_hash, ticket_id, TicketStatus.CANCELLED, site)


def _view(row: Row[*tuple[Any, ...]], staff_username: str, status: str) -> TicketView:
    return ticket_sql.view_of(row, staff_username, status)


def waiting_tickets(*, site: SiteId) -> list[TicketView]:
    with unit_of_work() as session:
        return waiting(session, site=site)


def tickets_at_tables(*, site: SiteId) -> list[tuple[TicketView, int]]:
    with unit_of_work() as session:
        return in_service(session, site=site)


def own_serving(staff_id: int, *, site: SiteId) -> TicketView | None:
    """The ticket this staff member is serving at this site, for a console that (re)connects."""
    with unit_of_work() as session:
        ticket = serving_ticket(session, staff_id, site=site)
        if ticket is None:
            return None
        username = session.scalar(select(Staff.username).where(Staff.id == staff_id))
        return ticket_view(ticket, username)
