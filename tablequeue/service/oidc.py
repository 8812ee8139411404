"""Signing in through the organisation's OpenID Connect provider: which account the
provider's checked claims open, and each sign-in's `state` taken once.

An account is found by the provider's `sub` once linked. Until then, the first sign-in
is matched by email, and only by an email the provider vouches for: `email_verified` true,
or, for a provider that never sends that claim (Entra ID), OIDC_TRUST_EMAIL=on; a false
`email_verified` is refused either way. The match links the `sub` for good: a later change
of email keeps the account, and another `sub` presenting that email is refused (an
address given to someone new must not open the previous holder's account). Without a
match, a person whose address is in OIDC_ALLOWED_DOMAINS gets a new account of their own
(no site, no admin, no table: an admin gives it sites); anyone else is refused.
OIDC_ADMIN_GROUP, a value of the `groups` claim, makes the account admin of every site:
each sign-in records the group in `admin_group` (or clears it, out of the group), and
Staff.admin_everywhere honours it only while it is still OIDC_ADMIN_GROUP (unset or
renamed: no longer, at once); a password login clears it. An admin made with the CLI or
at /admin stays one."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tablequeue.db import rowcount, unit_of_work
from tablequeue.models import PendingSignIn, Staff, utcnow
from tablequeue.outcomes import Outcome
from tablequeue.service import identity, sites
from tablequeue.service.eventlog import seal
from tablequeue.service.views import held_table

PENDING_MINUTES = 10  # from the button to the callback: a person typing a password and a code


class Refused(Exception):
    """A sign-in that opens nothing. `reason`: a word for logs; the message: for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    """What the provider said about the person, from a checked ID token (and userinfo)."""

    subject: str
    email: str | None
    email_verified: bool | None  # None: the provider did not say
    groups: frozenset[str]

    @classmethod
    def read(cls, claims: dict[str, Any]) -> Claims:
        email, verified, groups = (claims.get(k) for k in ("email", "email_verified", "groups"))
        if isinstance(verified, str):  # some providers send "true" (a string)
            verified = {"true": True, "false": False}.get(verified.lower())
        return cls(
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) and email else None,
            email_verified=verified if isinstance(verified, bool) else None,
            groups=frozenset(g for g in groups if isinstance(g, str))
            if isinstance(groups, list) else frozenset(),
        )


@dataclass(frozen=True)
class Policy:
    """Who may sign in: the OIDC_* settings that decide it."""

    trust_email: bool = False
    allowed_domains: frozenset[str] = frozenset()
    admin_group: str | None = None

    @classmethod
    def of(cls, config: dict[str, Any]) -> Policy:
        return cls(config["OIDC_TRUST_EMAIL"], config["OIDC_ALLOWED_DOMAINS"],
                   config["OIDC_ADMIN_GROUP"])


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


def begin(state: str) -> None:
    """Remember a sign-in sent to the provider (and forget those that never came back)."""
    now = utcnow()
    with unit_of_work() as session:
        session.execute(delete(PendingSignIn).where(PendingSignIn.expires_at <= now))
        session.add(PendingSignIn(state_hash=_hash(state),
                                  expires_at=now + timedelta(minutes=PENDING_MINUTES)))


def take(state: str) -> bool:
    """True once for a sign-in begun here and not yet taken nor expired; False after."""
    with unit_of_work() as session:
        taken = session.execute(delete(PendingSignIn).where(
            PendingSignIn.state_hash == _hash(state), PendingSignIn.expires_at > utcnow()))
        return rowcount(taken) == 1


def sign_in(claims: Claims, policy: Policy) -> Outcome[str]:
    """A new session token for the account these claims open; Refused says why not
    (nothing is changed then). The events: a table freed at a site the account no longer
    works at, having left OIDC_ADMIN_GROUP (an admin of every site works at each)."""
    try:
        return _sign_in(claims, policy)
    except IntegrityError:  # a first sign-in at the same moment linked or created it first
        return _sign_in(claims, policy)


def _sign_in(claims: Claims, policy: Policy) -> Outcome[str]:
    with unit_of_work() as session:
        staff = session.scalar(select(Staff).where(Staff.oidc_subject == claims.subject))
        if staff is None:
            email = _vouched_email(claims, policy)
            staff = session.scalar(select(Staff).where(Staff.email == email))
            if staff is None:
                staff = _sign_up(session, email, policy)
            elif staff.oidc_subject is not None:
                raise Refused("email linked", f"The address {email} belongs to a staff account "
                              "that signs in with another account at the provider.")
        if not staff.active:
            raise Refused("inactive", "This staff account is deactivated. An admin can "
                          "reactivate it at /admin.")
        staff.oidc_subject = claims.subject
        staff.admin_group = policy.admin_group if policy.admin_group in claims.groups else None
        session.flush()
        held = held_table(session, staff.id)
        # Out of the group, a site it has no row for is a site left, as with `staff sites`.
        gone = {held[0]} if held and not sites.is_member(session, staff.id, held[0]) else set()
        token = identity.issue(session, staff)
        return Outcome(token, seal(session, sites.leave(session, staff.id, gone)))


def _vouched_email(claims: Claims, policy: Policy) -> str:
    """The address to match, if the provider vouches for it (see the module's docstring)."""
    if claims.email is None:
        raise Refused("no email", "The provider did not send an email address, which the "
                      "first sign-in needs to find your staff account.")
    if claims.email_verified is False or (claims.email_verified is None
                                          and not policy.trust_email):
        raise Refused("unverified email", "The provider has not verified your email address, "
                      "so it cannot open a staff account.")
    try:
        return identity.normal_email(claims.email)
    except identity.AccountError:
        raise Refused("no email", "The provider's email address for you is not one a staff "
                      "account can have.") from None


def _sign_up(session: Session, email: str, policy: Policy) -> Staff:
    """A new account for someone of an allowed domain; anyone else has none to open."""
    if email.rsplit("@", 1)[1] not in policy.allowed_domains:
        raise Refused("unknown", f"There is no staff account for {email}. Ask an admin to add "
                      "one with this address.")
    base = re.sub(r"[^A-Za-z0-9._-]", "", email.split("@", 1)[0])[:28] or "staff"
    taken = set(session.scalars(select(Staff.username).where(Staff.username.like(f"{base}%"))))
    username = next(name for name in (base, *(f"{base}-{n}" for n in range(2, 10_000)))
                    if name not in taken)
    staff = Staff(username=username, password_hash="", email=email, is_admin=False, active=True)
    session.add(staff)
    return staff


def set_email(username: str, email: str | None) -> None:
    """Give an account the address its next sign-in through the provider is matched by
    (None: none). It unlinks the provider's account, so that sign-in matches afresh."""
    address = identity.normal_email(email) if email else None
    with unit_of_work() as session:
        staff = session.scalar(select(Staff).where(Staff.username == username))
        if staff is None:
            raise identity.AccountError(f"no staff member named {username!r}")
        if address and session.scalar(
                select(Staff.id).where(Staff.email == address, Staff.id != staff.id)):
            raise identity.AccountError(f"another staff member has the email {address}")
        session.execute(update(Staff).where(Staff.id == staff.id).values(
            email=address, oidc_subject=None, admin_group=None))
