"""The staff console: everything live arrives over /ws/staff, bound by the login cookie."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from tablequeue.pages.auth import current_staff, login_required
from tablequeue.service import admin, away

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.route("/")
@login_required
def index() -> str:
    me = current_staff()
    return render_template(
        "staff/index.html", me=me, table_count=admin.current_table_count(site=g.site.id),
        away=me is not None and away.is_away(me.id, site=g.site.id),
    )
