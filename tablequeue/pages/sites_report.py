"""/admin/sites/reports: every site's headline figures for one period, a row per site, each
linking to the site's own report. For admins of every site.

Each site's days are its own local days (a site in another time zone has its own
"today"), so each row is that site's report of the period the picker names."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template, request

from tablequeue.outcomes import SiteView
from tablequeue.pages import access
from tablequeue.pages.auth import current_staff
from tablequeue.pages.reports import minutes
from tablequeue.service import sites
from tablequeue.service.reports import Period, PeriodError, Report, report
from tablequeue.service.reports.period import PRESET_LABELS, parse

bp = Blueprint("sites_report", __name__, url_prefix="/admin/sites")


@dataclass(frozen=True)
class SiteFigures:
    site: SiteView
    report: Report


def _period(site: SiteView, args: dict[str, str]) -> Period:
    return parse(args, sites.zone(site))


@bp.get("/reports")
@access.every_site_admin_required
def index() -> tuple[str, int] | str:
    me = current_staff()
    assert me is not None  # every_site_admin_required
    args = {k: v for k, v in request.args.items() if k in ("period", "from", "to")}
    every = access.administered(me)
    try:
        rows = [SiteFigures(site, report(_period(site, args), site=site.id)) for site in every]
        error = None
    except PeriodError as refusal:
        args, error = {}, str(refusal)
        rows = [SiteFigures(site, report(_period(site, {}), site=site.id)) for site in every]
    shown = rows[0].report.period if rows else None
    page = render_template("sites/reports.html", rows=rows, error=error, args=args,
                           period=shown, presets=PRESET_LABELS, minutes=minutes)
    return (page, 400) if error else page
