"""Signing in with the organisation's account (OpenID Connect, authorization code flow):
/login/oidc sends the browser to the provider, /login/oidc/callback takes its answer.

The sign-in's `state`, `nonce` and PKCE verifier stay in this browser's session cookie;
the database keeps the state's hash until the callback takes it (once: a replayed
callback finds nothing, whichever worker it reaches). The ID token is checked by
pages/id_token.py, the account found by service/oidc.py. A refusal is a page saying why,
with nothing logged in; a success is the same session token a password gives."""

from __future__ import annotations

import hmac
import logging
import secrets

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from tablequeue import throttle
from tablequeue.live.registry import registry_of
from tablequeue.ops import metrics
from tablequeue.pages import id_token
from tablequeue.pages.oidc_client import ProviderDown, ProviderError, client_of
from tablequeue.pages.redirects import local_target
from tablequeue.service import oidc

bp = Blueprint("oidc", __name__)
log = logging.getLogger(__name__)
PENDING = "oidc_pending"
ID_TOKEN = "oidc_id_token"  # the logout's id_token_hint; "" when too long for the cookie
END_SESSION = "oidc_end_session"  # the provider's end_session_endpoint at the sign-in, or ""
_HINT_MAX = 1500  # a session cookie holds ~4 kB (groups can make an ID token larger)


def _page(message: str, status: int, reason: str) -> tuple[str, int]:
    """A refusal: why, for the person; the reason word (never a name or email) in the log."""
    log.warning("sign-in through the provider refused: %s", reason)
    metrics.login("failed")
    return render_template("auth/refused.html", message=message), status


def _unreachable() -> tuple[str, int]:
    name = current_app.config["OIDC_NAME"]
    other = " or log in with your tablequeue password" if current_app.config[
        "PASSWORD_LOGIN"] else ""
    return _page(f"Signing in with {name} is not possible right now: the sign-in service "
                 f"cannot be reached. Try again in a few minutes{other}.", 503, "unreachable")


def _place() -> list[tuple[str, str]]:
    """Starting a sign-in counts like a failed log-in from this address until it succeeds
    (each start costs a call to the provider)."""
    return [("login_address", f"oidc:address:{throttle.client_address()}")]


def _callback_url() -> str:
    return url_for("oidc.callback", _external=True)


@bp.get("/login/oidc")
def start() -> Response | tuple[str, int]:
    wait = throttle.limiter().reserve(_place())
    if wait:
        metrics.login("throttled")
        return _page(f"Too many sign-ins were started from this address. Wait about "
                     f"{max(1, round(wait / 60))} minutes and try again.", 429, "throttled")
    state, nonce, verifier = (secrets.token_urlsafe(n) for n in (24, 24, 48))
    try:
        url = client_of(current_app).authorize_url(_callback_url(), state, nonce, verifier)
    except ProviderDown:
        return _unreachable()
    except ProviderError as error:
        return _page(f"The sign-in service is not set up the way tablequeue needs: {error}.",
                     502, "discovery")
    oidc.begin(state)
    session[PENDING] = {"state": state, "nonce": nonce, "verifier": verifier,
                        "next": local_target(request.args.get("next"))}
    return redirect(url)


@bp.get("/login/oidc/callback")
def callback() -> Response | tuple[str, int]:
    pending = session.pop(PENDING, None)
    state = request.args.get("state", "")
    if not isinstance(pending, dict) or not hmac.compare_digest(
            state.encode(), str(pending.get("state", "")).encode()) or not state:
        return _page("This answer from the sign-in service does not belong to a sign-in "
                     "started in this browser. Start again from the log-in page.", 400, "state")
    if not oidc.take(state):
        return _page("This sign-in was already used, or took too long. Start again from the "
                     "log-in page.", 400, "replayed")
    error, code = request.args.get("error"), request.args.get("code")
    if error or not code:
        said = "".join(c for c in (error or "no code")[:40] if c.isalnum() or c in "_ ")
        return _page(f"The sign-in service did not sign you in ({said}).", 403, "provider error")
    client, config = client_of(current_app), current_app.config
    expected = id_token.Expected(config["OIDC_ISSUER"], config["OIDC_CLIENT_ID"],
                                 pending["nonce"])
    try:
        end_session = client.metadata(fresh=True).end_session_endpoint
        tokens = client.exchange(code, pending["verifier"], _callback_url())
        claims = id_token.verify(tokens["id_token"], expected, client.keys)
        userinfo = client.userinfo(tokens.get("access_token"))
    except ProviderDown:
        return _unreachable()
    except ProviderError as refusal:
        return _page(f"The sign-in service's answer cannot be accepted: {refusal}.", 502,
                     "provider answer")
    except id_token.TokenRefused as refusal:
        return _page(f"The sign-in service's answer cannot be accepted: {refusal}.", 403,
                     f"token {refusal.reason}")
    if userinfo and userinfo.get("sub") != claims["sub"]:  # OpenID Connect Core 5.3.2
        return _page("The sign-in service's answer cannot be accepted: its userinfo is about "
                     "someone else.", 403, "userinfo sub")
    try:  # the signed ID token's claims win over userinfo's
        signed_in = oidc.sign_in(oidc.Claims.read({**userinfo, **claims}),
                                 oidc.Policy.of(config))
    except oidc.Refused as refusal:
        return _page(str(refusal), 403, refusal.reason)
    registry_of(current_app).publish(signed_in.events)
    metrics.login("success")
    throttle.limiter().release(_place())
    session.clear()
    session["token"] = signed_in.value
    raw = tokens["id_token"]
    session[ID_TOKEN] = raw if len(raw) <= _HINT_MAX else ""
    session[END_SESSION] = end_session or ""  # logging out never waits on the provider
    return redirect(pending.get("next") or url_for("staff.index"))
