"""Staff login and logout (a session token kept in the signed session cookie), and the page
where a kiosk or display stores its device key."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar, cast

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from tablequeue import security
from tablequeue.live.registry import registry_of
from tablequeue.ops import metrics
from tablequeue.pages import login_guard
from tablequeue.pages.redirects import local_target
from tablequeue.service import devices, identity

bp = Blueprint("auth", __name__)
_DEVICE_COOKIE_DAYS = 365
View = TypeVar("View", bound=Callable[..., object])


def current_staff() -> identity.StaffInfo | None:
    """The logged-in staff member, once per request; None without a valid session token."""
    if "staff" not in g:
        token = session.get("token")
        g.staff = identity.whoami(token if isinstance(token, str) else None)
    return cast("identity.StaffInfo | None", g.staff)


def to_login() -> Response:
    """To /login, and back to this page afterwards (the default site's console is the
    default)."""
    # The query string too: a bookmarked report period must survive the login.
    here = request.full_path.rstrip("?") if request.method == "GET" else request.path
    # site=None: today's URL of the console, even from a site's own pages.
    back = None if request.path == url_for("staff.index", site=None) else here
    return redirect(url_for("auth.login", next=back))


def login_required(view: View) -> View:
    """Send anyone without a valid login to /login, and back here afterwards."""

    @wraps(view)
    def wrapped(*args: object, **kwargs: object) -> object:
        if current_staff() is None:
            return to_login()
        return view(*args, **kwargs)

    return cast(View, wrapped)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        attempt, wait = login_guard.begin(username)  # counted before the password is checked
        if wait:
            minutes = max(1, round(wait / 60))
            metrics.login("throttled")
            flash(f"Too many failed log-ins for this account or from this address. "
                  f"Wait about {minutes} minute{'s' if minutes != 1 else ''} and try again.")
            return render_template("auth/login.html"), 429
        token = identity.login(username, request.form.get("password", ""))
        if token is not None:
            metrics.login("success")
            session.clear()
            session["token"] = token
            target = local_target(request.args.get("next")) or url_for("staff.index")
            return login_guard.succeeded(attempt, redirect(target))
        metrics.login("failed")
        flash("That username and password do not match an active staff account.")
    return render_template("auth/login.html")


@bp.post("/logout")
def logout() -> Response:
    """POST only, with the CSRF token: a link or image elsewhere cannot log anyone out."""
    token = session.pop("token", None)
    if isinstance(token, str):
        outcome = identity.revoke_token(token)
        registry_of(current_app).publish(outcome.events)
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/device", methods=["GET", "POST"])
def device() -> str | Response | tuple[str, int]:
    """A screen's operator types the key issued for it once; a cookie keeps it."""
    target = local_target(request.values.get("next")) or ""  # never an open redirect
    if request.method == "POST":
        key = request.form.get("key", "").strip()
        site, _ = security.screen_site(target)  # a key opens its own site's screens only
        kind = devices.kind_of(key, site=site.id) if site is not None else None
        if kind is not None:
            response = redirect(target or url_for("home.index"))
            response.set_cookie(
                security.DEVICE_COOKIE, key, max_age=_DEVICE_COOKIE_DAYS * 86400,
                httponly=True, samesite="Lax", secure=security.cookie_secure(),
            )
            return response
        flash("That device key is not valid (it may have been revoked).")
        return render_template("auth/device.html", next=target), 403
    return render_template("auth/device.html", next=target)
