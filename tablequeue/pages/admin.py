"""/admin: staff accounts, the number of tables, closing the day. Admin accounts only.

Every form posts with htmx and gets its section back (HX-Request); without JavaScript the
same form posts normally and lands back on the page with a flash message."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from tablequeue.live.registry import registry_of
from tablequeue.outcomes import Event
from tablequeue.pages.admin_floor import floor_context
from tablequeue.pages.auth import admin_required, current_staff
from tablequeue.service import admin, identity, stats

bp = Blueprint("admin", __name__, url_prefix="/admin")
SECTIONS = {"staff": "admin/_staff.html", "tables": "admin/_tables.html", "day": "admin/_day.html"}


def _publish(events: list[Event]) -> None:
    registry_of(current_app).publish(events)


def _context() -> dict[str, object]:
    return {
        "me": current_staff(),
        "staff": identity.list_staff(),
        "table_count": admin.current_table_count(site=g.site.id),
        "waiting": stats.waiting_count(site=g.site.id),
    }


@bp.route("/")
@admin_required
def index() -> str:
    return render_template("admin/index.html", **_context(), **floor_context())


def _act(section: str, action: Callable[[], str]) -> str | Response:
    """Run one admin action; its message (or refusal) is shown in the section it came from."""
    try:
        message, error = action(), None
    except (admin.AdminError, identity.AccountError) as refusal:
        message, error = None, str(refusal)
    if request.headers.get("HX-Request") == "true":
        return render_template(SECTIONS[section], message=message, error=error, **_context())
    flash(message or error or "")
    return redirect(url_for("admin.index"))


@bp.post("/staff")
@admin_required
def add_staff() -> str | Response:
    def add() -> str:
        info = identity.add_staff(
            request.form.get("username", "").strip(),
            request.form.get("password", ""),
            admin=request.form.get("admin") == "on",
        )
        return f"Added {info.username}. They can log in at /login now."

    return _act("staff", add)


@bp.post("/staff/<username>/password")
@admin_required
def reset_password(username: str) -> str | Response:
    def reset() -> str:
        _publish(identity.set_password(username, request.form.get("password", "")))
        return f"New password set for {username}; their open consoles were logged out."

    return _act("staff", reset)


@bp.post("/staff/<username>/active")
@admin_required
def set_active(username: str) -> str | Response:
    def toggle() -> str:
        active = request.form.get("active") == "on"
        me = current_staff()
        if not active and me is not None and me.username == username:
            raise admin.AdminError("you cannot deactivate your own account")
        _publish(identity.set_active(username, active))
        if active:
            return f"{username} can log in again."
        return f"{username} is deactivated and logged out; their visitor, if any, waits again."

    return _act("staff", toggle)


@bp.post("/staff/<username>/revoke")
@admin_required
def revoke(username: str) -> str | Response:
    def revoke_() -> str:
        _publish(identity.revoke_sessions(username).events)
        return f"{username} is logged out everywhere."

    return _act("staff", revoke_)


@bp.post("/tables")
@admin_required
def tables() -> str | Response:
    def resize() -> str:
        raw = request.form.get("count", "").strip()
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6:  # not "²", nor 5,000 digits
            raise admin.AdminError("the number of tables must be a whole number")
        _publish(admin.set_table_count(int(raw), site=g.site.id))
        return f"The venue now has {int(raw)} tables."

    return _act("tables", resize)


@bp.post("/close-day")
@admin_required
def close_day() -> str | Response:
    def close() -> str:
        count, events = admin.close_waiting(site=g.site.id)
        _publish(events)
        return f"Closed {count} waiting ticket{'s' if count != 1 else ''}."

    return _act("day", close)
