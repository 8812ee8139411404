"""The kiosk at the door: sign-in goes over /ws/kiosk; the confirmation is a partial."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from tablequeue.protocol import MAX_NUMBER
from tablequeue.service import stats

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")


@bp.route("/")
def index() -> str:
    return render_template("kiosk/index.html")


# Bounded like the websocket commands' ids: a larger number is a 404, not an overflow.
@bp.route(f"/ticket/<int(max={MAX_NUMBER}):ticket_id>")
def ticket(ticket_id: int) -> str:
    """Number, position and estimate only: anyone can ask, so no name and no email."""
    found = stats.kiosk_ticket(ticket_id)
    if found is None:
        abort(404)
    return render_template("kiosk/_confirmation.html", ticket=found)
