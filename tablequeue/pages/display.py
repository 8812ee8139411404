"""A site's TV display: a public screen fed by its /ws/display (which never carries emails)."""

from __future__ import annotations

from flask import render_template, request

from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.service import admin

bp = SiteBlueprint("display", __name__, prefix="/display")


@bp.route("/")
def index() -> str:
    # ?speech=off silences the spoken call-outs for a screen without speakers.
    speech = request.args.get("speech", "on") != "off"
    tables = admin.current_table_count(site=current_site().id)
    return render_template("display/index.html", table_count=tables, speech=speech)
