"""Staff accounts and session tokens: who a token belongs to, issuing and revoking them."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, case, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from tablequeue.db import unit_of_work
from tablequeue.models import Staff, StaffSession, TableAssignment, Ticket, utcnow
from tablequeue.outcomes import Event, Outcome, SessionsRevoked, SiteId
from tablequeue.service.departure import release
from tablequeue.service.eventlog import seal
from tablequeue.service.reports import rollups
from tablequeue.service.sites import default_site, member_sites, set_sites

USERNAME = re.compile(r"[A-Za-z0-9._-]{1,32}", re.ASCII)
# What an address must look like to be stored (the provider's claim is compared with it).
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
# A throwaway hash so a login for an unknown name costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")


class AccountError(ValueError):
    """An account operation that cannot be done; the message says why, for people."""


@dataclass(frozen=True)
class StaffInfo:
    id: int
    username: str
    is_admin: bool  # of every site: Staff.admin_everywhere (is_admin, or the admin group)
    active: bool
    table: int | None
    email: str | None = None  # how the first sign-in through the provider finds the account


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# The one rule for a token: its session is unrevoked and unexpired, its staff member
# active. Shared by staff_for_token (ORM) and desk_for_token (the ticket path, Core).
_LIVE_TOKEN = (
    StaffSession.token_hash == bindparam("token_hash"),
    StaffSession.revoked_at.is_(None),
    StaffSession.expires_at > bindparam("now"),
    Staff.active.is_(True),
)


def staff_for_token(session: Session, token_hash: str | None) -> Staff | None:
    """The active staff member whose unexpired, unrevoked session has this token hash."""
    if not token_hash:
        return None
    return session.scalar(
        select(Staff).join(StaffSession, StaffSession.staff_id == Staff.id).where(*_LIVE_TOKEN),
        {"token_hash": token_hash, "now": utcnow()},
    )


@dataclass(frozen=True)
class Desk:
    """Who a token belongs to, as the ticket commands need it: one row, one statement."""

    staff_id: int
    username: str
    table: int | None
    away: bool = False  # stepped away from that table (`away`)


STAFF, _SESSIONS = Staff.__table__, StaffSession.__table__
_TABLES = TableAssignment.__table__
# Built once with bound parameters, so its cache key is computed once and the compiled
# SQL reused: the token's staff member and their table at this site in one round trip. A
# staff member holds one table in all, so the join finds at most one; one held at another
# site is no table here. (The site is tested in the columns, not in the join's ON: the
# batched read, known.py, swaps the binds for columns of a FROM item beside this join,
# which PostgreSQL lets a select list name but not a join condition.)
_HERE = _TABLES.c.site_id == bindparam("site")
DESK = (
    select(STAFF.c.id, STAFF.c.username,
           case((_HERE, _TABLES.c.table_number)).label("table_number"),
           case((_HERE, _TABLES.c.away_since)).label("away_since"))
    .select_from(
        _SESSIONS.join(STAFF, STAFF.c.id == _SESSIONS.c.staff_id)
        .outerjoin(_TABLES, _TABLES.c.staff_id == STAFF.c.id)
    )
    .where(*_LIVE_TOKEN)
)


def desk_for_token(connection: Connection, token_hash: str | None, *,
                   site: SiteId) -> Desk | None:
    """staff_for_token plus the table they hold here, for the ticket path (Core, no ORM)."""
    if not token_hash:
        return None
    params = {"token_hash": token_hash, "now": utcnow(), "site": site}
    row = connection.execute(DESK, params).first()
    return Desk(row.id, row.username, row.table_number, row.away_since is not None) if row else None


def issue(session: Session, staff: Staff) -> str:
    """A new session for this account (a password's login, or the provider's sign-in)."""
    token = secrets.token_urlsafe(24)  # 192 bits
    hours = current_app.config["SESSION_HOURS"]
    session.add(
        StaffSession(
            staff_id=staff.id,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    return token


def login(username: str, password: str) -> str | None:
    """A fresh session token for a correct username and password, else None."""
    with unit_of_work() as session:
        staff = session.scalar(select(Staff).where(Staff.username == username))
        if staff is None or not staff.active or not staff.password_hash:  # "": no password
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(staff.password_hash, password):
            return None
        staff.admin_group = None  # no admin through OIDC_ADMIN_GROUP: only its sign-in vouches
        return issue(session, staff)


def issue_token(username: str) -> str:
    with unit_of_work() as session:
        return issue(session, _get(session, username))


def revocations(session: Session, staff_id: int,
                token_hashes: frozenset[str]) -> list[SessionsRevoked]:
    """One SessionsRevoked per site whose consoles may be bound with these sessions (the
    account's sites), each with that site's taken tables: two reads whatever the sites."""
    if not token_hashes:
        return []
    where = member_sites(session, staff_id)
    taken: dict[SiteId, list[int]] = {site: [] for site in where}
    rows = session.execute(select(TableAssignment.site_id, TableAssignment.table_number)
                           .where(TableAssignment.site_id.in_(where)))
    for site, table in rows:
        taken[SiteId(site)].append(table)
    return [SessionsRevoked(token_hashes, tuple(sorted(tables)), site=site)
            for site, tables in taken.items()]


def revoke_token(token: str) -> Outcome[None]:
    """Log a session out; the events unbind the connections it had bound."""
    token_hash = hash_token(token)
    with unit_of_work() as session:
        live = (StaffSession.token_hash == token_hash, StaffSession.revoked_at.is_(None))
        staff_id = session.scalar(select(StaffSession.staff_id).where(*live))
        session.execute(update(StaffSession).where(*live).values(revoked_at=utcnow()))
        if staff_id is None:  # unknown or revoked already: no console is bound with it
            return Outcome(None)
        return Outcome(None, seal(session, [*revocations(session, staff_id,
                                                         frozenset({token_hash}))]))


def revoke_all(session: Session, staff_id: int) -> list[SessionsRevoked]:
    """End every live session of a staff member; the events that unbind their consoles."""
    live = (StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
    hashes = frozenset(session.scalars(select(StaffSession.token_hash).where(*live)))
    session.execute(update(StaffSession).where(*live).values(revoked_at=utcnow()))
    return revocations(session, staff_id, hashes)


def revoke_sessions(username: str) -> Outcome[None]:
    """An admin ends every session of an account (it can log in again)."""
    with unit_of_work() as session:
        return Outcome(None, seal(session, [*revoke_all(session, _get(session, username).id)]))


def valid_token_hashes(token_hashes: Iterable[str]) -> set[str]:
    """Which of these hashes still belong to a live session of an active account."""
    wanted = list(token_hashes)
    with unit_of_work() as session:
        return set(session.scalars(
            select(StaffSession.token_hash)
            .join(Staff, Staff.id == StaffSession.staff_id)
            .where(
                StaffSession.token_hash.in_(wanted),
                StaffSession.revoked_at.is_(None),
                StaffSession.expires_at > utcnow(),
                Staff.active.is_(True),
            )
        ))


def whoami(token: str | None) -> StaffInfo | None:
    """The staff member a (raw) token belongs to, if it is still valid."""
    if not token:
        return None
    with unit_of_work() as session:
        staff = staff_for_token(session, hash_token(token))
        return info(session, staff) if staff else None


def info(session: Session, staff: Staff) -> StaffInfo:
    """The account; `table` is the one table it holds, at whichever of its sites."""
    table = session.scalar(
        select(TableAssignment.table_number).where(TableAssignment.staff_id == staff.id)
    )
    return StaffInfo(staff.id, staff.username, staff.admin_everywhere, staff.active, table,
                     staff.email)


def normal_email(email: str) -> str:
    """An address as stored and compared: trimmed, lower-cased, and plausible."""
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise AccountError(f"{email!r} is not an email address")
    return email


def _get(session: Session, username: str) -> Staff:
    staff = session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        raise AccountError(f"no staff member named {username!r}")
    return staff


def add_staff(username: str, password: str, *, admin: bool = False,
              email: str | None = None, sites: Sequence[SiteId] | None = None) -> StaffInfo:
    """A new account, member of `sites` (None: the default site); admin: of every site.
    With an email the password may be "": the account signs in through the provider."""
    if not USERNAME.fullmatch(username):
        raise AccountError("a username is 1 to 32 letters, digits, '.', '_' or '-'")
    email = normal_email(email) if email else None
    if len(password) < 8 and (password or email is None):
        raise AccountError("a password needs at least 8 characters")
    with unit_of_work() as session:
        if session.scalar(select(Staff.id).where(Staff.username == username)):
            raise AccountError(f"a staff member named {username!r} exists already")
        if email and session.scalar(select(Staff.id).where(Staff.email == email)):
            raise AccountError(f"another staff member has the email {email}")
        first = session.scalar(select(Staff.id).limit(1)) is None
        # The first account is the admin: someone has to be able to open /admin.
        staff = Staff(
            username=username,
            password_hash=generate_password_hash(password) if password else "",
            is_admin=admin or first,
            email=email,
        )
        session.add(staff)
        session.flush()
        set_sites(session, staff.id, sites if sites is not None else [default_site(session).id])
        return info(session, staff)


def list_staff() -> list[StaffInfo]:
    with unit_of_work() as session:
        return [info(session, s) for s in session.scalars(select(Staff).order_by(Staff.username))]


def remove_staff(username: str) -> list[Event]:
    """Delete an account and its sessions; free its table and requeue its ticket."""
    with unit_of_work() as session:
        staff = _get(session, username)
        events = release(session, staff.id)
        revoked = revoke_all(session, staff.id)  # before the delete: it reads their sites
        # Their tickets lose their staff (SET NULL), and SQLite may give the id to the
        # next account: kept report days that counted them are recounted.
        rollups.forget_days_of(session, Ticket.staff_id == staff.id)
        session.delete(staff)
        return seal(session, [*events, *revoked])


def set_password(username: str, password: str) -> list[Event]:
    """A new password ends every session (whoever had the old one is logged out)."""
    if len(password) < 8:
        raise AccountError("a password needs at least 8 characters")
    with unit_of_work() as session:
        staff = _get(session, username)
        staff.password_hash = generate_password_hash(password)
        return seal(session, [*revoke_all(session, staff.id)])


def set_active(username: str, active: bool) -> list[Event]:
    """(Re)activate or deactivate an account; deactivating ends its sessions, frees its
    table and requeues its ticket. The events are for an in-process caller to publish."""
    with unit_of_work() as session:
        staff = _get(session, username)
        staff.active = active
        if active:
            return []
        events = release(session, staff.id)
        return seal(session, [*events, *revoke_all(session, staff.id)])
