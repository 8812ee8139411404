"""A site's /admin, the floor section: the announcement, the opening hours and the line
switch, in the site's time zone. Same rules as the rest of the site's admin page (its admins,
htmx posts get the section back). Open screens of the site pick the change up from the
database within a second (tablequeue.live.floorwatch).

Its own blueprint under admin's URL prefix: admin.py shows this section on its page
(floor_context), and nothing here needs admin.py, so the import goes one way only."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.wrappers import Response

from tablequeue.live.relay import floornotice
from tablequeue.models import utcnow
from tablequeue.pages import access, sections
from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.service import floor, hours

bp = SiteBlueprint("admin_floor", __name__, prefix="/admin")


def floor_context() -> dict[str, object]:
    site = current_site()
    settings = floor.current_settings(site=site.id)
    zone = settings.zone
    now = floor.now_of(settings, utcnow(), zone)
    until = settings.until.astimezone(zone) if settings.until else None
    return {
        "announcement": now.announcement,
        "announcement_until": until.strftime("%H:%M") if until else None,
        "hours_lines": hours.describe(settings.openings),
        "line_closed": now.closed,
        "opens": floor.describe_opening(now.opens_at, site=site.id),
        "timezone": zone.key,
    }


def _act(action: sections.Action) -> str | Response:
    def act_and_publish() -> str:
        message = action()
        floornotice.from_server(current_app, current_site().id)  # publishes here and now
        return message

    return sections.answer("admin/_floor.html", act_and_publish,
                           (floor.FloorError, hours.HoursError), floor_context)


@bp.post("/announcement")
@access.site_admin_required
def announcement() -> str | Response:
    def post() -> str:
        site = current_site().id
        if request.form.get("clear"):
            floor.clear_announcement(site=site)
            return "The announcement is down on every screen."
        raw = request.form.get("minutes", "").strip()
        if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 6):  # not "²" either
            raise floor.FloorError("the minutes must be a whole number")
        floor.announce(request.form.get("text", ""), int(raw) if raw else None, site=site)
        return "Announced on every display, kiosk and staff console."

    return _act(post)


@bp.post("/hours")
@access.site_admin_required
def opening_hours() -> str | Response:
    def save() -> str:
        site = current_site().id
        if request.form.get("clear"):
            floor.clear_hours(site=site)
            return "No opening hours: the line is open unless you close it."
        specs = [line for line in request.form.get("hours", "").splitlines() if line.strip()]
        floor.set_hours(specs, site=site)
        return "Opening hours saved."

    return _act(save)


@bp.post("/line")
@access.site_admin_required
def line() -> str | Response:
    def switch() -> str:
        closing = request.form.get("state") == "closed"
        floor.set_line("closed" if closing else "open", site=current_site().id)
        return "The line is closed." if closing else "The line is open."

    return _act(switch)
