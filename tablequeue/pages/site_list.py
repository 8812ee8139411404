"""/admin/sites: the list of sites, each with its screens. Admins of every site see all of
them and add, change and remove sites here; a site admin sees only their own sites.

A site added, changed or removed takes effect on every running server: each process's
directory of sites (service/directory.py) re-reads it; this one is told at once."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import available_timezones

from flask import Blueprint, current_app, render_template, request
from werkzeug.wrappers import Response

from tablequeue.db import unit_of_work
from tablequeue.live.registry import registry_of
from tablequeue.outcomes import Outcome, Refusal, SiteView
from tablequeue.pages import access, sections
from tablequeue.pages.auth import current_staff
from tablequeue.service import floor, sites
from tablequeue.service.directory import directory_of
from tablequeue.service.eventlog import sealed

bp = Blueprint("sites", __name__, url_prefix="/admin/sites")
# Offered as you type (any IANA name is accepted): Area/City names, not the legacy aliases.
ZONES = ["UTC", *sorted(z for z in available_timezones()
                        if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/")))]


class SiteRefused(ValueError):
    """A site form that cannot be done; the message says why, for people."""


@dataclass(frozen=True)
class SiteRow:
    site: SiteView
    closed: bool  # the line is closed now (hours or the switch)
    opens: str  # when it opens again, if closed
    default: bool


def _rows(shown: list[SiteView], default_slug: str) -> list[SiteRow]:
    floors = floor.floors_now([site.id for site in shown])  # one statement for them all
    rows = []
    for site in shown:
        now = floors.get(site.id)
        closed = now is not None and now.closed
        opens = floor.describe_opening(now.opens_at, site=site.id) if now and closed else ""
        rows.append(SiteRow(site, closed, opens, site.slug == default_slug))
    return rows


def _context() -> dict[str, object]:
    me = current_staff()
    assert me is not None  # any_admin_required
    default = directory_of(current_app).default().slug
    return {"me": me, "rows": _rows(access.administered(me), default),
            "zones": ZONES, "default_zone": current_app.config["TIMEZONE"].key,
            "default_tables": current_app.config["TABLE_COUNT"]}


@bp.get("/")
@access.any_admin_required
def index() -> str:
    return render_template("sites/index.html", **_context())


def _answer(action: sections.Action) -> str | Response:
    return sections.answer("sites/_sites.html", action, (SiteRefused, sites.SiteError), _context,
                           back="sites.index")


def _tables(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:  # not "²", nor 5,000 digits
        raise SiteRefused("the number of tables must be a whole number")
    return int(raw)


def _done(outcome: Outcome[SiteView] | Outcome[None], slug: str) -> None:
    """Publish what changed and have this process see the new list of sites at once."""
    reasons = {
        Refusal.SITE_TAKEN: f"a site with the address {slug!r} exists already",
        Refusal.SITE_BUSY: f"people are waiting or being served at {slug}: "
                           "remove it once its line is empty",
        Refusal.SITE_DEFAULT: f"{slug} is the default site (today's URLs): it cannot be removed",
    }
    if outcome.refusal is not None:
        raise SiteRefused(reasons.get(outcome.refusal, f"{slug}: {outcome.refusal.value}"))
    directory_of(current_app).refresh()
    registry_of(current_app).publish(outcome.events)


def _form_site(slug: str) -> SiteView:
    """The site a form names, from the database (this worker's directory may be a poll
    behind another worker's change)."""
    with unit_of_work() as session:
        site = sites.find(session, slug)
    if site is None:
        raise SiteRefused(f"there is no site {slug!r}")
    return site


@bp.post("/")
@access.every_site_admin_required
def add() -> str | Response:
    def add_() -> str:
        form = request.form
        slug, name = form.get("slug", "").strip(), form.get("name", "").strip()
        zone = form.get("timezone", "").strip() or current_app.config["TIMEZONE"].key
        tables = _tables(form.get("tables", "")) or current_app.config["TABLE_COUNT"]
        with unit_of_work() as session:
            outcome = sealed(session, sites.add(session, slug, name, tables=tables,
                                                     timezone=zone))
        _done(outcome, slug)
        return f"Added {name} at /s/{slug}/."

    return _answer(add_)


@bp.post("/<slug>")
@access.every_site_admin_required
def change(slug: str) -> str | Response:
    def change_() -> str:
        site = _form_site(slug)
        form = request.form
        name = form.get("name", "").strip() or None
        zone = form.get("timezone", "").strip() or None
        tables = _tables(form.get("tables", ""))
        with unit_of_work() as session:
            outcome = sealed(session, sites.update(session, site.id, name=name, tables=tables,
                                                        timezone=zone))
        _done(outcome, slug)
        return f"Saved {slug}."

    return _answer(change_)


@bp.post("/<slug>/remove")
@access.every_site_admin_required
def remove(slug: str) -> str | Response:
    def remove_() -> str:
        site = _form_site(slug)
        if request.form.get("confirm", "").strip() != slug:
            raise SiteRefused(f"type {slug} to confirm the removal of {site.name}")
        with unit_of_work() as session:
            outcome = sealed(session, sites.remove(session, site.id))
        _done(outcome, slug)
        return f"Removed {site.name} and everything it kept."

    return _answer(remove_)
