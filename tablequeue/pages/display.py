"""The TV display: a public screen fed by /ws/display (which never carries emails)."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from tablequeue.service import admin

bp = Blueprint("display", __name__, url_prefix="/display")


@bp.route("/")
def index() -> str:
    # ?speech=off silences the spoken call-outs for a screen without speakers.
    speech = request.args.get("speech", "on") != "off"
    return render_template(
        "display/index.html", table_count=admin.current_table_count(site=g.site.id),
        speech=speech
    )
