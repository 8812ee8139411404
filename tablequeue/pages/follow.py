"""The visitor's phone: /v/<code> follows one ticket (live over /ws/visitor), and the QR
code of a follow link that the kiosk shows. Unknown and expired links look the same."""

from __future__ import annotations

import segno
from flask import Blueprint, Response, abort, make_response, render_template, request

from tablequeue import throttle
from tablequeue.service import follow, follow_links

bp = Blueprint("follow", __name__, url_prefix="/v")


def _gone(status: int = 404) -> tuple[str, int]:
    return render_template("follow/gone.html", throttled=status == 429), status


@bp.route("/<code>")
def follow_page(code: str) -> Response:
    throttled, state = follow_links.lookup(code, throttle.client_address())
    if throttled:
        response = make_response(_gone(429))
    else:
        page = render_template("follow/index.html", code=code, state=state) if state else None
        response = make_response(page or _gone())
    # The code is the key: it must not leave in a Referer (the page has no forms to check).
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/<code>/qr.svg")
def qr(code: str) -> Response:
    """The QR code of this link, drawn on the server; no lookup (it reveals nothing)."""
    if follow.code_hash(code) is None:
        abort(404)
    url = follow_links.link_url(request.host_url, code)
    svg = segno.make(url, error="m").svg_inline(scale=6, border=2, dark="#000", light="#fff")
    response = Response('<?xml version="1.0" encoding="utf-8"?>\n' + svg.replace(
        "<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _mail_flag() -> dict[str, object]:
    """The kiosk offers "Email me when it's my turn" only when email is configured."""
    return {"follow_mail_enabled": follow_links.mail_enabled}
