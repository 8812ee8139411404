"""/admin, the staff section: accounts, their passwords, their sites. Staff accounts are the
deployment's, so who may change which is by site:
- an admin of every site sees every account and changes any;
- a site admin sees the accounts of the page's site, and changes an account only if it
  works at no site but theirs (never an admin of every site): resetting the password of
  someone from another office would be a way into that office. Their sites form offers
  only the sites they administer; the account's other sites are kept.
A new account added on a site's page works at that site.

Its own blueprint under admin's URL prefix, like admin_floor.py: admin.py shows this
section on its page (staff_context), and the import goes one way only."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from werkzeug.wrappers import Response

from tablequeue.db import unit_of_work
from tablequeue.live.registry import registry_of
from tablequeue.outcomes import Event, SiteId, SiteView
from tablequeue.pages import access, sections
from tablequeue.pages.auth import current_staff
from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.service import admin, identity, sites, views
from tablequeue.service.eventlog import seal

bp = SiteBlueprint("admin_staff", __name__, prefix="/admin")
ROLES = ("", "staff", "admin")  # the sites form: not there, works there, admin there


@dataclass(frozen=True)
class Account:
    info: identity.StaffInfo
    sites: list[SiteView]  # where it works (every site for an admin of every site)
    admin_of: set[SiteId]  # where it is a site admin
    manageable: bool  # the viewer may change it
    held: tuple[SiteView, int] | None  # the one table it holds, at whichever site

    def role_at(self, site: SiteView) -> str:
        return "admin" if site.id in self.admin_of else "staff" if site in self.sites else ""


def _me() -> identity.StaffInfo:
    me = current_staff()
    assert me is not None  # site_admin_required
    return me


def _accounts(me: identity.StaffInfo, mine: set[SiteId]) -> list[Account]:
    here = current_site().id
    found = []
    accounts = identity.list_staff()  # its own transaction: never one inside another
    with unit_of_work() as session:
        every = {site.id: site for site in sites.all_sites(session)}
        for info in accounts:
            works = sorted((every[s] for s in sites.member_sites(session, info.id) if s in every),
                           key=lambda site: site.slug)
            if not me.is_admin and here not in {site.id for site in works}:
                continue  # a site admin sees the accounts of this site only
            admin_of = set(sites.administered_sites(session, info.id))
            manageable = me.is_admin or (
                not info.is_admin and {site.id for site in works} <= mine)
            held = views.held_table(session, info.id)
            table = (every[held[0]], held[1]) if held and held[0] in every else None
            found.append(Account(info, works, admin_of, manageable, table))
    return found


def staff_context() -> dict[str, object]:
    me = _me()
    my_sites = access.administered(me)
    accounts = _accounts(me, {site.id for site in my_sites})
    # With one site, where an account works goes without saying, unless it works nowhere:
    # one made at its first sign-in through the provider, until an admin gives it a site.
    return {"accounts": accounts, "my_sites": my_sites, "me": me,
            "homeless": any(not account.sites for account in accounts)}


def _publish(events: list[Event]) -> None:
    registry_of(current_app).publish(events)


def _answer(action: sections.Action) -> str | Response:
    return sections.answer("admin/_staff.html", action,
                           (admin.AdminError, identity.AccountError), staff_context)


def _manageable(username: str) -> Account:
    """The account, if the viewer may change it; else the refusal the section shows."""
    me = _me()
    mine = {site.id for site in access.administered(me)}
    for account in _accounts(me, mine):
        if account.info.username == username:
            if not account.manageable:
                raise admin.AdminError(
                    f"only an admin of every site can change {username}: "
                    "they work at sites you do not administer")
            return account
    raise identity.AccountError(f"no staff member named {username!r} at {current_site().name}")


@bp.post("/staff")
@access.site_admin_required
def add_staff() -> str | Response:
    def add() -> str:
        site = current_site()
        every = _me().is_admin and request.form.get("admin") == "on"
        info = identity.add_staff(request.form.get("username", "").strip(),
                                  request.form.get("password", ""), admin=every, sites=[site.id],
                                  email=request.form.get("email", "").strip() or None)
        if request.form.get("site_admin") == "on":
            with unit_of_work() as session:
                sites.set_site_admin(session, info.id, site.id, True)
        return f"Added {info.username}. They can log in at /login now."

    return _answer(add)


@bp.post("/staff/<username>/password")
@access.site_admin_required
def reset_password(username: str) -> str | Response:
    def reset() -> str:
        _manageable(username)
        _publish(identity.set_password(username, request.form.get("password", "")))
        return f"New password set for {username}; their open consoles were logged out."

    return _answer(reset)


@bp.post("/staff/<username>/active")
@access.site_admin_required
def set_active(username: str) -> str | Response:
    def toggle() -> str:
        active = request.form.get("active") == "on"
        if not active and _me().username == username:
            raise admin.AdminError("you cannot deactivate your own account")
        _manageable(username)
        _publish(identity.set_active(username, active))
        if active:
            return f"{username} can log in again."
        return f"{username} is deactivated and logged out; their visitor, if any, waits again."

    return _answer(toggle)


@bp.post("/staff/<username>/revoke")
@access.site_admin_required
def revoke(username: str) -> str | Response:
    def revoke_() -> str:
        _manageable(username)
        _publish(identity.revoke_sessions(username).events)
        return f"{username} is logged out everywhere."

    return _answer(revoke_)


@bp.post("/staff/<username>/sites")
@access.site_admin_required
def set_sites(username: str) -> str | Response:
    """Where the account works and administers, among the sites the viewer administers."""

    def save() -> str:
        if username == _me().username:
            raise admin.AdminError("you cannot change your own sites")
        account = _manageable(username)
        if account.info.is_admin:
            raise admin.AdminError(f"{username} is an admin of every site, and works at all")
        offered = access.administered(_me())
        roles = {site.id: request.form.get(f"site-{site.slug}", "") for site in offered}
        if any(role not in ROLES for role in roles.values()):
            raise admin.AdminError("a site's role is none, staff or admin")
        kept = [site.id for site in account.sites if site.id not in roles]
        chosen = [site for site, role in roles.items() if role]
        with unit_of_work() as session:
            # Leaving the site of their table frees it (and requeues their visitor there).
            events = sites.set_sites(session, account.info.id, kept + chosen)
            for site in chosen:
                sites.set_site_admin(session, account.info.id, site, roles[site] == "admin")
            events = seal(session, events)
        _publish(events)
        return f"Saved the sites of {username}."

    return _answer(save)
