"""A site's /admin/reports: a period's figures and charts, and its CSV, in the site's time
zone. For the site's admins and the admins of every site (who also have every site's
headline figures at once: sites_report.py).

The period picker sends htmx GETs that swap #report and push the URL, so a period is
shareable and bookmarkable; without JavaScript the same links and form load the page."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, g, render_template, request, stream_with_context

from tablequeue.pages import access, charts
from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.service import sites
from tablequeue.service.reports import Period, PeriodError, Report, Spread, export, report
from tablequeue.service.reports.period import PRESET_LABELS, from_dates, parse

bp = SiteBlueprint("reports", __name__, prefix="/admin")
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def minutes(tenths: int | None) -> str:
    """Tenths of a minute as minutes with one decimal ("–" when nothing was measured)."""
    return "–" if tenths is None else f"{tenths // 10}.{tenths % 10}"


def _day(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.isoformat()}"


def _charts(result: Report) -> dict[str, Any]:
    days = list(result.by_day)
    every = max(1, len(days) // 15)
    by_hour = charts.bars([(f"{h}", n, f"{h:02d}:00–{h:02d}:59 · {n}")
                           for h, n in enumerate(result.by_hour)], every=3)
    by_day = charts.bars([(d.strftime("%d %b"), n, f"{_day(d)} · {n}")
                          for d, n in result.by_day.items()], every=every)
    waits = [result.wait_by_day[d] for d in days]
    wait_lines = charts.lines(
        [d.strftime("%d %b") for d in days],
        [("median", "median", [None if s.median is None else s.median / 10 for s in waits]),
         ("90th percentile", "p90", [None if s.p90 is None else s.p90 / 10 for s in waits])],
    )
    staff = charts.bars([(r.name, r.served, f"{r.name} · served {r.served}") for r in result.staff])
    tables = charts.bars([(r.name, r.served, f"table {r.name} · served {r.served}")
                          for r in result.tables])
    return {"by_hour": by_hour, "by_day": by_day, "wait_lines": wait_lines,
            "heat": charts.heat(result.heat, WEEKDAYS), "staff_bars": staff, "table_bars": tables}


def _zone() -> ZoneInfo:
    return sites.zone(current_site())


def _period() -> Period:
    return parse(request.args.to_dict(), _zone(), site=current_site().id)


@bp.get("/reports")
@access.site_admin_required
def index() -> str | tuple[str, int]:
    zone = _zone()
    try:
        period, error = _period(), None
    except PeriodError as refusal:
        period, error = parse({}, zone, site=current_site().id), str(refusal)
    result = report(period)
    context = {"r": result, "error": error, "presets": PRESET_LABELS, "minutes": minutes,
               "day": _day, "weekdays": WEEKDAYS, "zone": zone.key, "empty": Spread(),
               **_charts(result)}
    # Back/forward: the page keeps no htmx history snapshot (hx-history=false), so htmx asks
    # for the whole page again and gets it, not the fragment.
    partial = (request.headers.get("HX-Request") == "true"
               and request.headers.get("HX-History-Restore-Request") != "true")
    page = render_template("reports/_report.html" if partial else "reports/index.html", **context)
    return (page, 400) if error and not partial else page


@bp.get("/reports.csv")
@access.site_admin_required
def csv() -> Response:
    zone = _zone()
    try:
        period = from_dates(request.args.get("from", ""), request.args.get("to", ""), zone,
                            site=current_site().id)
    except PeriodError as refusal:
        return Response(f"{refusal}\n", status=400, mimetype="text/plain")
    # The site in the name from its /s/<slug>/ URL; today's URL keeps today's name.
    named = f"-{current_site().slug}" if g.site_in_url else ""
    name = f"tablequeue{named}-{period.first.isoformat()}-to-{period.last.isoformat()}.csv"
    return Response(
        stream_with_context(export.lines(period)), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Cache-Control": "no-store"},
    )
