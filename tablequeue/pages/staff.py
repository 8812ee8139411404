"""The staff console."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, session, url_for
from werkzeug.wrappers import Response

from tablequeue.service import identity

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.route("/")
def index() -> str | Response:
    token = session.get("token")
    me = identity.whoami(token if isinstance(token, str) else None)
    if me is None:
        return redirect(url_for("auth.login"))
    return render_template("staff/index.html", me=me, token=token)
