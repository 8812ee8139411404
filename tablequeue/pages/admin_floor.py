"""/admin, the floor section: the announcement, the opening hours and the line switch.
Same rules as the rest of /admin (admin accounts only, htmx posts get the section back).
Open screens pick the change up from the database within a second (tablequeue.live.floorwatch).

Its own blueprint under admin's URL prefix: admin.py shows this section on its page
(floor_context), and nothing here needs admin.py, so the import goes one way only."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from tablequeue.live.relay import floornotice
from tablequeue.models import utcnow
from tablequeue.pages.auth import admin_required
from tablequeue.service import floor, hours

bp = Blueprint("admin_floor", __name__, url_prefix="/admin")


def floor_context() -> dict[str, object]:
    settings = floor.current_settings(site=g.site.id)
    now = floor.now_of(settings, utcnow(), settings.zone)
    until = settings.until.astimezone(settings.zone) if settings.until else None
    return {
        "announcement": now.announcement,
        "announcement_until": until.strftime("%H:%M") if until else None,
        "hours_lines": hours.describe(settings.openings),
        "line_closed": now.closed,
        "opens": floor.describe_opening(now.opens_at, site=g.site.id),
        "timezone": settings.zone.key,
    }


def _act(action: Callable[[], str]) -> str | Response:
    try:
        message, error = action(), None
        floornotice.from_server(current_app, g.site.id)  # publishes here and now
    except (floor.FloorError, hours.HoursError) as refusal:
        message, error = None, str(refusal)
    if request.headers.get("HX-Request") == "true":
        return render_template("admin/_floor.html", message=message, error=error,
                               **floor_context())
    flash(message or error or "")
    return redirect(url_for("admin.index"))


@bp.post("/announcement")
@admin_required
def announcement() -> str | Response:
    def post() -> str:
        if request.form.get("clear"):
            floor.clear_announcement(site=g.site.id)
            return "The announcement is down on every screen."
        raw = request.form.get("minutes", "").strip()
        if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 6):  # not "²" either
            raise floor.FloorError("the minutes must be a whole number")
        floor.announce(request.form.get("text", ""), int(raw) if raw else None, site=g.site.id)
        return "Announced on every display, kiosk and staff console."

    return _act(post)


@bp.post("/hours")
@admin_required
def opening_hours() -> str | Response:
    def save() -> str:
        if request.form.get("clear"):
            floor.clear_hours(site=g.site.id)
            return "No opening hours: the line is open unless you close it."
        specs = [line for line in request.form.get("hours", "").splitlines() if line.strip()]
        floor.set_hours(specs, site=g.site.id)
        return "Opening hours saved."

    return _act(save)


@bp.post("/line")
@admin_required
def line() -> str | Response:
    def switch() -> str:
        closing = request.form.get("state") == "closed"
        floor.set_line("closed" if closing else "open", site=g.site.id)
        return "The line is closed." if closing else "The line is open."

    return _act(switch)
