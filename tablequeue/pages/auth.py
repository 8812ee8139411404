"""Staff login and logout: a session token, kept in the signed session cookie."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from tablequeue.service import identity

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        token = identity.login(username, request.form.get("password", ""))
        if token is not None:
            session.clear()
            session["token"] = token
            return redirect(url_for("staff.index"))
        flash("That username and password do not match an active staff account.")
    return render_template("auth/login.html")


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    token = session.pop("token", None)
    if isinstance(token, str):
        identity.revoke_token(token)
    session.clear()
    return redirect(url_for("auth.login"))
