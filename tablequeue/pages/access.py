"""Who may open what: a site's members work at its staff console, its admins (and the admins
of every site, `Staff.is_admin`) at its admin pages; only admins of every site add, change
and remove sites. A refusal is a page saying so, with links to the account's own sites."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar, cast

from flask import abort, make_response, render_template

from tablequeue.db import unit_of_work
from tablequeue.outcomes import SiteId, SiteView
from tablequeue.pages.auth import current_staff, to_login
from tablequeue.pages.sitectx import current_site
from tablequeue.service import identity, sites

View = TypeVar("View", bound=Callable[..., object])


def is_member(me: identity.StaffInfo, site: SiteId) -> bool:
    with unit_of_work() as session:
        return sites.is_member(session, me.id, site)


def administers(me: identity.StaffInfo, site: SiteId) -> bool:
    if me.is_admin:
        return True
    with unit_of_work() as session:
        return sites.administers(session, me.id, site)


def administered(me: identity.StaffInfo) -> list[SiteView]:
    """The sites this account administers, by slug (every site for an admin of every site)."""
    with unit_of_work() as session:
        if me.is_admin:
            return sites.all_sites(session)
        mine = set(sites.administered_sites(session, me.id))
        return [site for site in sites.all_sites(session) if site.id in mine]


def member_of(me: identity.StaffInfo) -> list[SiteView]:
    with unit_of_work() as session:
        mine = set(sites.member_sites(session, me.id))
        return [site for site in sites.all_sites(session) if site.id in mine]


def refuse(reason: str, *, console: bool = False) -> None:
    """403 with a page that says why and links to the account's own sites instead."""
    me = current_staff()
    places = [] if me is None else (member_of(me) if console else administered(me))
    page = render_template("access/forbidden.html", reason=reason, places=places,
                           console=console)
    abort(make_response(page, 403))


def _guarded(refusal: Callable[[identity.StaffInfo], str | None]) -> Callable[[View], View]:
    """A view decorator: to /login without a login; 403 when `refusal` gives a reason."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: object, **kwargs: object) -> object:
            me = current_staff()
            if me is None:
                return to_login()
            reason = refusal(me)
            if reason is not None:
                refuse(reason)
            return view(*args, **kwargs)

        return cast(View, wrapped)

    return decorate


def _not_site_admin(me: identity.StaffInfo) -> str | None:
    site = current_site()
    return None if administers(me, site.id) else f"You are not an admin of {site.name}."


def _no_site_admin(me: identity.StaffInfo) -> str | None:
    return None if administered(me) else "These pages are for admin staff accounts."


def _not_every_site_admin(me: identity.StaffInfo) -> str | None:
    return None if me.is_admin else "Only an admin of every site can add, change or remove sites."


# Admin of this page's site (or of every site): the site's admin pages and reports.
site_admin_required = _guarded(_not_site_admin)
# Admin of at least one site: the list of sites (each sees only their own).
any_admin_required = _guarded(_no_site_admin)
# Admin of every site: adding, changing and removing sites, every site's reports at once.
every_site_admin_required = _guarded(_not_every_site_admin)
