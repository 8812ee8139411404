"""Text messages over HTTP: a visitor asks for texts with their ticket's follow code (the
kiosk right after sign-in, their phone at /v/<code>), the kiosk checks a number before
sign-in, and Twilio calls back: delivery statuses at /sms/status, inbound messages at
/sms/inbound (STOP). Twilio's requests carry no CSRF token: each is checked against its
X-Twilio-Signature instead (RequestValidator, the account's auth token, the URL Twilio
was given: PUBLIC_URL), and a forged one gets 403. Without SMS_URL every route is a 404."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, g, request

from tablequeue import throttle
from tablequeue.envvars import E164
from tablequeue.security import csrf
from tablequeue.service import follow_links, phones, text_subscriptions, texts

bp = Blueprint("texts", __name__)
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _plain(text: str, status: int = 200) -> Response:
    return Response(text, status, mimetype="text/plain")


def _texts_on() -> None:
    if texts.account() is None:
        abort(404)


def _from_twilio() -> bool:
    """Signed by Twilio with our auth token, for the URL it was given."""
    account = texts.account()
    if account is None:
        return False
    from twilio.request_validator import RequestValidator  # with SMS_URL only (~16 MB)

    query = request.query_string.decode()
    url = current_app.config["PUBLIC_URL"] + request.path + (f"?{query}" if query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(RequestValidator(account.token).validate(url, request.form, signature))


@bp.post("/sms/status")
@csrf.exempt
def status() -> Response:
    """Twilio's delivery status of a text we sent (?o= names its outbox row)."""
    _texts_on()
    if not _from_twilio():
        abort(403)
    row = request.args.get("o", "")
    if row.isascii() and row.isdigit() and len(row) < 12:
        text_subscriptions.record_status(int(row), request.form.get("MessageStatus", ""),
                                         request.form.get("ErrorCode"))
    return Response(status=204)


@bp.post("/sms/inbound")
@csrf.exempt
def inbound() -> Response:
    """A text to one of our numbers: STOP (or Twilio's other opt-out words) opts its
    sender out for good. Anything else is not read."""
    _texts_on()
    if not _from_twilio():
        abort(403)
    sender = request.form.get("From", "")
    if E164.fullmatch(sender) and text_subscriptions.is_stop(request.form.get("Body", "")):
        text_subscriptions.opt_out(sender)
    return Response(_EMPTY_TWIML, mimetype="text/xml")


@bp.post("/sms/check")
def check() -> Response:
    """The kiosk asks before sign-in whether a typed number can be texted: 204, or 422 and
    why (for the visitor). Nothing is stored."""
    _texts_on()
    try:
        phones.normalise(request.form.get("number", ""), current_app.config["SMS_REGION"])
    except phones.PhoneError as refusal:
        return _plain(str(refusal), 422)
    return Response(status=204)


@bp.post("/v/<code>/sms")
def subscribe(code: str) -> Response:
    """Texts for the code's ticket to the posted number (`stop=1`: no more texts): the
    masked number, or 422 and why. The code is looked up like the phone page's, failed
    look-ups counted per address (LIMIT_FOLLOW_ADDRESS)."""
    _texts_on()
    throttled, state = follow_links.lookup(code, throttle.client_address())
    if throttled:
        return _plain("Too many tries; wait a few minutes.", 429)
    if state is None:
        return _plain("This link is no longer valid.", 404)
    try:
        if request.form.get("stop"):
            text_subscriptions.unsubscribe(code)
            return Response(status=204)
        masked = text_subscriptions.subscribe(code, request.form.get("number", ""))
    except (phones.PhoneError, text_subscriptions.TextError) as refusal:
        return _plain(str(refusal), 422)
    return _plain(masked)


@bp.app_context_processor
def _text_flags() -> dict[str, object]:
    """The kiosk offers "Text me when it's my turn" only where the site has a sender
    number; the phone page also shows where texts go (masked)."""

    def offered_here() -> bool:
        site = g.get("site")
        return site is not None and texts.account() is not None and \
            text_subscriptions.sender(site=site.id) is not None

    return {"texts_offered": offered_here, "texts_on_phone": text_subscriptions.on_phone}
