"""Who works and administers where, account by account (the `flask staff` commands):
the roster, replacing an account's sites, and the scope of its admin rights.

`Staff.admin_everywhere` is admin of every site (a member of each without rows): made so
with `staff admin NAME --every-site` (`is_admin`), or by OIDC_ADMIN_GROUP at the account's
last sign-in while that is still the setting (`admin_group`, which only the provider's
sign-ins, a password login and `staff email` change). A `staff_sites` row is
membership, with `is_admin` for an admin of that one site (tablequeue.service.sites).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tablequeue.db import unit_of_work
from tablequeue.models import Staff, StaffSite
from tablequeue.outcomes import Event, SiteId, SiteView
from tablequeue.service import sites
from tablequeue.service.eventlog import seal
from tablequeue.service.views import held_table


class StaffingError(ValueError):
    """A change of sites or admin rights that cannot be made; the message says why."""


@dataclass(frozen=True)
class Staffing:
    username: str
    active: bool
    admin_everywhere: bool
    through_group: bool  # admin of every site only through OIDC_ADMIN_GROUP
    email: str | None  # what its first sign-in through the provider is matched by
    sites: tuple[SiteView, ...]  # where it works (every site for an admin of every site)
    administers: tuple[SiteView, ...]  # every site for an admin of every site
    table: tuple[SiteView, int] | None  # the one table it holds, and where


def roster() -> list[Staffing]:
    """Every account, by username."""
    with unit_of_work() as session:
        known = {site.id: site for site in sites.all_sites(session)}
        return [_staffing(session, staff, known)
                for staff in session.scalars(select(Staff).order_by(Staff.username))]


def _staffing(session: Session, staff: Staff, known: dict[SiteId, SiteView]) -> Staffing:
    def views(ids: Sequence[SiteId]) -> tuple[SiteView, ...]:
        return tuple(sorted((known[i] for i in ids if i in known), key=lambda s: s.slug))

    held = held_table(session, staff.id)
    return Staffing(
        username=staff.username, active=staff.active, admin_everywhere=staff.admin_everywhere,
        through_group=staff.admin_everywhere and not staff.is_admin, email=staff.email,
        sites=views(sites.member_sites(session, staff.id)),
        administers=views(sites.administered_sites(session, staff.id)),
        table=(known[held[0]], held[1]) if held and held[0] in known else None,
    )


def _account(session: Session, username: str) -> Staff:
    staff = session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        raise StaffingError(f"no staff member named {username!r}")
    return staff


def work_at(username: str, chosen: Sequence[SiteId]) -> list[Event]:
    """The account works at exactly these sites from now on (it stays admin of those it
    administered and keeps). A table it holds at a site it leaves is freed and the visitor
    it was serving there goes back to the front of the line: the events say so."""
    if not chosen:
        raise StaffingError("an account works at one site at least")
    with unit_of_work() as session:
        return seal(session, sites.set_sites(session, _account(session, username).id, chosen))


def set_admin_scope(username: str, *, everywhere: bool = False,
                    only: Sequence[SiteId] = ()) -> bool:
    """The account administers every site, exactly the sites `only` (and works at them),
    or nothing. Refused when it would leave no active admin of every site: someone has to
    be able to add sites and open every site's /admin. True when the account stays admin
    of every site anyway, through OIDC_ADMIN_GROUP (until a sign-in outside the group, a
    password login, or the setting's change)."""
    with unit_of_work() as session:
        staff = _account(session, username)
        was_everywhere = staff.admin_everywhere
        staff.is_admin = everywhere
        session.flush()
        if was_everywhere and not _an_admin_everywhere(session):  # rolled back
            raise StaffingError(f"{username} is the last admin of every site: make another "
                                "account one first (staff admin NAME --every-site)")
        wanted = set() if everywhere else set(only)
        current = set(session.scalars(select(StaffSite.site_id).where(
            StaffSite.staff_id == staff.id, StaffSite.is_admin.is_(True))))
        for site in sorted(current - wanted):
            sites.set_site_admin(session, staff.id, SiteId(site), False)
        for site in sorted(wanted):
            sites.set_site_admin(session, staff.id, site, True)
        return not everywhere and staff.admin_everywhere  # is_admin is False now: the group


def _an_admin_everywhere(session: Session) -> bool:
    """An active account admin of every site (by the CLI, /admin or OIDC_ADMIN_GROUP)."""
    admins = select(Staff.id).where(Staff.admin_everywhere, Staff.active.is_(True))
    return session.scalar(admins.limit(1)) is not None
