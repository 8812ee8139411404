"""The kiosk at the door of one site: sign-in goes over its /ws/kiosk; the confirmation is
a partial. A ticket of another site is one that does not exist here."""

from __future__ import annotations

from flask import Response, abort, render_template, request

from tablequeue import throttle
from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.protocol import MAX_NUMBER
from tablequeue.service import stats
from tablequeue.service.tickets import EMAIL

bp = SiteBlueprint("kiosk", __name__, prefix="/kiosk")


@bp.route("/")
def index() -> str:
    return render_template("kiosk/index.html")


# Bounded like the websocket commands' ids: a larger number is a 404, not an overflow.
@bp.route(f"/ticket/<int(max={MAX_NUMBER}):ticket_id>")
def ticket(ticket_id: int) -> str:
    """Number, position and estimate only: anyone can ask, so no name and no email."""
    found = stats.kiosk_ticket(ticket_id, site=current_site().id)
    if found is None:
        abort(404)
    return render_template("kiosk/_confirmation.html", ticket=found)


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
    return render_template("kiosk/_confirmation.html", ticket=found, already=True)
