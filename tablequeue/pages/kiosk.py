"""The kiosk at the door of one site: sign-in goes over its /ws/kiosk; the confirmation is
a partial. A ticket of another site is one that does not exist here. With two or more
lines the page asks which one first (static/js/kiosk-lines.js) and the ticket names it."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from sqlalchemy import func, select

from tablequeue import throttle
from tablequeue.db import unit_of_work
from tablequeue.models import Line, Ticket
from tablequeue.outcomes import SiteId
from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.protocol import MAX_NUMBER
from tablequeue.service import lines, stats
from tablequeue.service.tickets import EMAIL

bp = SiteBlueprint("kiosk", __name__, prefix="/kiosk")


@bp.route("/")
def index() -> str:
    """The lines come with the page (no flash of the wrong first screen), in the same form
    as the `lines` frame that keeps them current."""
    with unit_of_work() as session:
        found = lines.all_lines(session, current_site().id)
    return render_template("kiosk/index.html", kiosk_lines=[
        {"id": line.id, "name": line.name, "open": line.open} for line in found])


def line_name(ticket_id: int, site: SiteId) -> str | None:
    """The name of the ticket's line while the site has several lines, else None (with one
    line the ticket looks as it always did). Never its priority: that is staff's."""
    with unit_of_work() as session:
        several = session.scalar(select(func.count()).select_from(Line).where(
            Line.site_id == site, Line.removed_at.is_(None))) or 0
        if several < 2:
            return None
        return session.scalar(select(Line.name).join(Ticket, Ticket.line_id == Line.id).where(
            Ticket.id == ticket_id, Ticket.site_id == site))


# Bounded like the websocket commands' ids: a larger number is a 404, not an overflow.
@bp.route(f"/ticket/<int(max={MAX_NUMBER}):ticket_id>")
def ticket(ticket_id: int) -> str:
    """Number, position and estimate only: anyone can ask, so no name and no email."""
    site = current_site().id
    found = stats.kiosk_ticket(ticket_id, site=site)
    if found is None:
        abort(404)
    return render_template("kiosk/_confirmation.html", ticket=found,
                           line=line_name(ticket_id, site))


@bp.post("/waiting")
def waiting() -> str | Response:
    """Is the visitor typing this email already waiting? Asked by the page before it sends
    `new`: 200 with their own ticket's partial (number, place, estimate: what the kiosk
    showed them when they signed in, nothing more), 204 when not. An email probe like
    `query`, so it spends the same per-address budget."""
    if not throttle.limiter().address_allowed("query", throttle.client_address()):
        return Response("Too many look-ups from this kiosk; wait a minute.\n", 429,
                        {"Retry-After": "60"}, mimetype="text/plain")
    email = request.form.get("email", "").strip()
    if len(email) > 254 or not EMAIL.fullmatch(email):
        return Response(status=204)  # `new` will say what is wrong with it
    found = stats.waiting_ticket_of(email, site=current_site().id)
    if found is None:
        return Response(status=204)
    return render_template("kiosk/_confirmation.html", ticket=found, already=True,
                           line=line_name(found.id, current_site().id))
