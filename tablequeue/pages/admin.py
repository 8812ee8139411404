"""A site's /admin: its staff, its number of tables, closing its day (and the floor,
admin_floor.py; its service lines, admin_lines.py). For the site's admins and the admins of
every site; every section acts on the page's site (`g.site`), never on another.

Every form posts with htmx and gets its section back (sections.py)."""

from __future__ import annotations

from flask import current_app, render_template, request
from werkzeug.wrappers import Response

from tablequeue.live.registry import registry_of
from tablequeue.outcomes import Event
from tablequeue.pages import access, sections
from tablequeue.pages.admin_floor import floor_context
from tablequeue.pages.admin_lines import lines_context
from tablequeue.pages.admin_messages import messages_context
from tablequeue.pages.admin_staff import staff_context
from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.service import admin, stats

bp = SiteBlueprint("admin", __name__, prefix="/admin")


def _publish(events: list[Event]) -> None:
    registry_of(current_app).publish(events)


def _context() -> dict[str, object]:
    site = current_site()
    return {
        "table_count": admin.current_table_count(site=site.id),
        "waiting": stats.waiting_count(site=site.id),
    }


@bp.route("/")
@access.site_admin_required
def index() -> str:
    return render_template("admin/index.html", **_context(), **staff_context(),
                           **floor_context(), **lines_context(), **messages_context())


@bp.post("/tables")
@access.site_admin_required
def tables() -> str | Response:
    def resize() -> str:
        raw = request.form.get("count", "").strip()
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6:  # not "²", nor 5,000 digits
            raise admin.AdminError("the number of tables must be a whole number")
        _publish(admin.set_table_count(int(raw), site=current_site().id))
        return f"The venue now has {int(raw)} tables."

    return sections.answer("admin/_tables.html", resize, (admin.AdminError,), _context)


@bp.post("/close-day")
@access.site_admin_required
def close_day() -> str | Response:
    def close() -> str:
        count, events = admin.close_waiting(site=current_site().id)
        _publish(events)
        return f"Closed {count} waiting ticket{'s' if count != 1 else ''}."

    return sections.answer("admin/_day.html", close, (admin.AdminError,), _context)
