"""Follow links: a random code per ticket that lets a visitor's phone follow that one
ticket, and leave the line. Only the code's SHA-256 is stored (docs/security.md)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from tablequeue.db import transaction
from tablequeue.models import FollowCode, Ticket, TicketStatus, Visitor, utcnow
from tablequeue.outcomes import (
    Outcome,
    PhoneState,
    Refusal,
    SiteId,
    TicketView,
    TicketWithdrawn,
    refused,
)
from tablequeue.service import line_sql, order
from tablequeue.service.eventlog import seal
from tablequeue.service.identity import hash_token
from tablequeue.service.stats import RECENT_SERVICES, RECENT_WINDOW, estimate_minutes

CODE_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}", re.ASCII)  # secrets.token_urlsafe(16): 128 bits
GRACE = timedelta(hours=1)  # a link still shows the outcome this long after the ticket ended
ACTIVE = (TicketStatus.WAITING, TicketStatus.SERVING)

TICKETS, CODES, VISITORS = Ticket.__table__, FollowCode.__table__, Visitor.__table__
_BY_CODE = (
    select(TICKETS.c.id, TICKETS.c.status, TICKETS.c.table_number, TICKETS.c.claimed_at,
           TICKETS.c.ended_at, TICKETS.c.email, TICKETS.c.name, TICKETS.c.created_at,
           TICKETS.c.visitor_id, TICKETS.c.site_id, TICKETS.c.line_id)
    .join_from(CODES, TICKETS, CODES.c.ticket_id == TICKETS.c.id)
    .where(CODES.c.code_hash == bindparam("code"))
)
_STATES = select(TICKETS.c.id, TICKETS.c.status, TICKETS.c.table_number, TICKETS.c.claimed_at,
                 TICKETS.c.ended_at).where(TICKETS.c.id.in_(bindparam("ids", expanding=True)))
_LEAVE = (
    update(TICKETS)
    .where(TICKETS.c.id == bindparam("ticket"), TICKETS.c.status == TicketStatus.WAITING)
    .values(status=TicketStatus.LEFT, ended_at=bindparam("now"))
)


def new_code() -> tuple[str, str]:
    """A fresh code and the hash that is stored."""
    code = secrets.token_urlsafe(16)
    return code, hash_token(code)


def code_hash(code: str) -> str | None:
    """The stored form of a well-formed code; None for anything else (no lookup needed)."""
    return hash_token(code) if CODE_SHAPE.fullmatch(code) else None


# ---- what a phone shows --------------------------------------------------------------


@dataclass(frozen=True)
class Basis:
    """What an estimate needs: mean recent service time and open tables."""

    mean_seconds: float | None
    open_tables: int

    def minutes(self, position: int) -> int | None:
        if self.mean_seconds is None:
            return None
        return estimate_minutes(position, self.mean_seconds, self.open_tables)


def read_basis(connection: Connection, *, site: SiteId) -> Basis:
    """The site's estimate inputs: its recent services and its open tables."""
    from tablequeue.models import TableAssignment

    rows = connection.execute(
        select(TICKETS.c.claimed_at, TICKETS.c.ended_at)
        .where(TICKETS.c.site_id == site, TICKETS.c.status == TicketStatus.COMPLETED,
               TICKETS.c.claimed_at.is_not(None), TICKETS.c.ended_at > utcnow() - RECENT_WINDOW)
        .order_by(TICKETS.c.ended_at.desc()).limit(RECENT_SERVICES)
    ).all()
    spans = [(_aware(end) - _aware(start)).total_seconds() for start, end in rows if start and end]
    assignments = TableAssignment.__table__
    open_tables = connection.execute(
        select(func.count()).select_from(assignments)
        .where(assignments.c.site_id == site)).scalar_one()
    return Basis(sum(spans) / len(spans) if spans else None, int(open_tables))


def _aware(moment: datetime) -> datetime:

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def final_status(status: str, claimed: bool) -> str:
    """The words of a finished ticket: served, no-show, closed (end of day) or left."""
    if status == TicketStatus.COMPLETED:
        return "served"
    if status == TicketStatus.LEFT:
        return "left"
    return "no-show" if claimed else "closed"


def state_of(row: Row[*tuple[Any, ...]], ahead: int | None = None,
             basis: Basis | None = None, line: str | None = None) -> PhoneState:
    """A ticket row (id, status, table_number, claimed_at, ...) as its phone shows it;
    `line`: its line's name, where the site has several."""
    if row.status == TicketStatus.WAITING:
        minutes = basis.minutes((ahead or 0) + 1) if basis and ahead is not None else None
        return PhoneState(row.id, "waiting", ahead=ahead, minutes=minutes, line=line)
    if row.status == TicketStatus.SERVING:
        return PhoneState(row.id, "serving", table=row.table_number)
    return PhoneState(row.id, final_status(row.status, row.claimed_at is not None))


def _valid(row: Row[*tuple[Any, ...]] | None) -> TypeGuard[Row[*tuple[Any, ...]]]:
    """A row of a ticket whose link still works: active, or ended less than GRACE ago."""
    if row is None:
        return False
    return row.status in ACTIVE or (
        row.ended_at is not None and _aware(row.ended_at) > utcnow() - GRACE)


def lookup(code: str) -> PhoneState | None:
    """The state of the code's ticket (in its own site's line); None if the code is unknown
    or has expired."""
    hashed = code_hash(code)
    if hashed is None:
        return None
    with transaction() as connection:
        row = connection.execute(_BY_CODE, {"code": hashed}).first()
        if not _valid(row):
            return None
        if row.status != TicketStatus.WAITING:
            return state_of(row)
        site = SiteId(row.site_id)
        ahead = line_sql.ahead_of(connection, row.id, row.line_id)
        names = line_names(connection, site)
        return state_of(row, ahead, read_basis(connection, site=site), names.get(row.line_id))


def line_names(connection: Connection, site: SiteId) -> dict[int, str]:
    """The names a phone shows: its line's, only where the site has two lines or more."""
    lines = line_sql.site_lines(connection, site)
    return {line.id: line.name for line in lines} if len(lines) > 1 else {}


@dataclass(frozen=True)
class Place:
    """A waiting ticket as its phone sees it: people ahead in its line, and the line."""

    ticket_id: int
    ahead: int
    line_id: int


def waiting_places(connection: Connection, *, site: SiteId) -> list[Place]:
    """Every waiting ticket of the site with its place in its own line under the order
    rule (docs/lines.md): a whole worker's phones of that site from one query."""
    limit = line_sql.run()
    return [Place(ticket_id, ahead, line_id)
            for line_id, tickets in line_sql.waiting_rows(connection, site=site).items()
            for ahead, ticket_id in enumerate(order.order(tickets, limit))]


def states(connection: Connection, ids: list[int]) -> list[Row[*tuple[Any, ...]]]:
    return list(connection.execute(_STATES, {"ids": ids}).all()) if ids else []


# ---- the kiosk makes a link; the phone leaves ------------------------------------------


def issue(ticket_id: int, code_hash_: str, email_me: bool, link: str, *,
          site: SiteId) -> Outcome:
    """Store the follow code of a waiting ticket of this site (replacing an earlier one)
    and the visitor's email choice. Value: the ticket row (for the sign-in mail)."""
    with transaction() as connection:
        row = connection.execute(
            select(TICKETS.c.id, TICKETS.c.status, TICKETS.c.visitor_id, TICKETS.c.email)
            .where(TICKETS.c.id == ticket_id, TICKETS.c.site_id == site)).first()
        if row is None or row.status not in ACTIVE:
            return refused(Refusal.NO_TICKET)
        connection.execute(delete(CODES).where(CODES.c.ticket_id == ticket_id))
        connection.execute(insert(CODES).values(
            ticket_id=ticket_id, code_hash=code_hash_, email_me=email_me, almost_sent=False,
            created_at=utcnow()))
        connection.execute(update(VISITORS).where(VISITORS.c.id == row.visitor_id)
                           .values(wants_email=email_me))
        if email_me:
            from tablequeue.service import outbox

            outbox.on_sign_in(connection, ticket_id, link, site=site)
    return Outcome(value=row)


def wants_email(email: str, *, site: SiteId) -> bool:
    """Whether this visitor ticked "Email me" last time at this site (false for an email
    unknown there)."""
    with transaction() as connection:
        wanted = connection.execute(
            select(VISITORS.c.wants_email).where(VISITORS.c.site_id == site,
                                                 VISITORS.c.email == email.strip().lower())
        ).scalar()
    return bool(wanted)


def leave(code: str) -> Outcome:
    """The visitor leaves the line: their waiting ticket ends as `left`. Staff consoles
    drop it as they drop a ticket closed at the end of the day (TicketWithdrawn)."""
    hashed = code_hash(code)
    if hashed is None:
        return refused(Refusal.LINK_INVALID)
    now = utcnow()
    with transaction() as connection:
        row = connection.execute(_BY_CODE, {"code": hashed}).first()
        if row is None or not _valid(row):
            return refused(Refusal.LINK_INVALID)
        if connection.execute(_LEAVE, {"ticket": row.id, "now": now}).rowcount != 1:
            return refused(Refusal.NOT_WAITING)
        from tablequeue.service import notify

        site = SiteId(row.site_id)
        view = TicketView(row.id, row.email, row.name, "", _aware(row.created_at), now,
                          TicketStatus.LEFT, row.line_id)
        notify.left(connection, view, site=site)
        return Outcome(value=PhoneState(row.id, "left"),
                       events=seal(connection, [TicketWithdrawn(view, site=site)]))
