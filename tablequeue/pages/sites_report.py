"""/admin/sites/reports: every site's headline figures for one period, a row per site, each
linking to the site's own report. For admins of every site.

Each site's days are its own local days (a site in another time zone has its own
"today"): service.reports.overview reads each row on its site's wall clock."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from tablequeue.pages import access
from tablequeue.pages.auth import current_staff
from tablequeue.pages.reports import minutes
from tablequeue.service.reports import PeriodError
from tablequeue.service.reports.overview import overview
from tablequeue.service.reports.period import PRESET_LABELS

bp = Blueprint("sites_report", __name__, url_prefix="/admin/sites")


@bp.get("/reports")
@access.every_site_admin_required
def index() -> tuple[str, int] | str:
    me = current_staff()
    assert me is not None  # every_site_admin_required
    every = access.administered(me)
    args = {k: v for k, v in request.args.items() if k in ("period", "from", "to")}
    try:
        rows, error = overview(every, args), None
    except PeriodError as refusal:
        args, error = {}, str(refusal)
        rows = overview(every, args)
    period = rows[0].period if rows else None
    page = render_template("sites/reports.html", rows=rows, error=error, args=args,
                           period=period, presets=PRESET_LABELS, minutes=minutes)
    return (page, 400) if error else page
