"""A site's staff console: everything live arrives over its /ws/staff, bound by the login
cookie. At a site the account does not work at, the page says so and shows no queue."""

from __future__ import annotations

from flask import g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from tablequeue.db import unit_of_work
from tablequeue.outcomes import SiteId
from tablequeue.pages import access
from tablequeue.pages.auth import current_staff, login_required
from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.service import admin, away, views

bp = SiteBlueprint("staff", __name__, prefix="/staff")


@bp.route("/")
@login_required
def index() -> str | Response:
    me = current_staff()
    assert me is not None  # login_required
    site = current_site()
    if not access.is_member(me, site.id):
        mine = access.member_of(me)
        if len(mine) == 1 and not g.site_in_url:  # /staff/ after the login: their one site
            return redirect(url_for("staff.index", site=mine[0].slug))
        access.refuse(f"You do not work at {site.name}: its queue is for its own staff.",
                      console=True)
    return render_template(
        "staff/index.html", me=me, table=_table_here(me.id, site.id),
        table_count=admin.current_table_count(site=site.id),
        away=away.is_away(me.id, site=site.id), is_site_admin=access.administers(me, site.id),
    )


def _table_here(staff_id: int, site: SiteId) -> int | None:
    """The table this member holds at this site (one held at another site is not here:
    picking one here moves them)."""
    with unit_of_work() as session:
        held = views.held_table(session, staff_id)
    return held[1] if held is not None and held[0] == site else None
