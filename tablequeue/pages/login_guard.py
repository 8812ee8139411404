"""Login attempts: reserved before the password is checked, and counted where they come from.

Reserving first: every attempt takes its place in the counters (an atomic INCR in Redis, a
locked increment in one process) before the password is checked, and goes no further if
that place is over a limit. Forty parallel guesses are forty places, so at most the limit
of them reach the password check, whatever the timing. A success gives the account's place
back, and the failures before it from the same address or browser are forgiven; a
failure keeps its places.

Where from, so that guessing at an account does not lock its owner out (OWASP Authentication
Cheat Sheet, "Account Lockout", and "Slow Down Online Guessing Attacks with Device
Cookies"): the limits apply to who is guessing, not to the account everywhere.
- A browser that has logged in to this account before carries a trusted-device cookie for
  it (signed, HttpOnly, only sent to /login); its attempts are counted against that
  cookie alone (`LIMIT_LOGIN_ACCOUNT`), so nobody else's guessing ever locks it out.
- Any other client is counted per account from its address (`LIMIT_LOGIN_ACCOUNT`), per
  address over all accounts (`LIMIT_LOGIN_ADDRESS`), and per account over all addresses
  (`LIMIT_LOGIN_ACCOUNT_TOTAL`, a ceiling against guessing from many addresses, which
  then still lets the owner in from a browser the account was used in).
The counters are reserved in that order, and a refused attempt takes no place further
down: one address hammering an account cannot use up the account's total by itself."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from tablequeue import security, throttle

TRUSTED_DAYS = 90
_MAX_NAME = 64  # a 10 kB username must not become a 10 kB key


@dataclass(frozen=True)
class Attempt:
    username: str
    address: str
    device: str | None  # the trusted-device cookie's id, when it is valid for this account

    @property
    def places(self) -> list[tuple[str, str]]:
        """(rate setting, counter key) to reserve, in order."""
        name = self.username[:_MAX_NAME]
        if self.device is not None:
            return [("login_account", f"login:device:{self.device}")]
        return [
            ("login_account", f"login:account:{name}:address:{self.address}"),
            ("login_address", f"login:address:{self.address}"),
            ("login_account_total", f"login:account:{name}"),
        ]


def begin(username: str) -> tuple[Attempt, int]:
    """Reserve this attempt's places; the attempt and how many seconds to wait (0: go on
    and check the password)."""
    attempt = Attempt(username, throttle.client_address(), _trusted_device(username))
    return attempt, throttle.limiter().reserve(attempt.places)


def succeeded(attempt: Attempt, response: Response) -> Response:
    """Forgive the account's failures from here, and trust this browser for the account."""
    throttle.limiter().release(attempt.places)
    device = attempt.device or secrets.token_urlsafe(12)
    response.set_cookie(
        _cookie_name(attempt.username), _serializer().dumps({"u": attempt.username, "d": device}),
        max_age=TRUSTED_DAYS * 86400, path=url_for("auth.login"), httponly=True, samesite="Lax",
        secure=security.cookie_secure(),
    )
    return response


def _trusted_device(username: str) -> str | None:
    raw = request.cookies.get(_cookie_name(username))
    if not raw:
        return None
    try:
        value = _serializer().loads(raw, max_age=TRUSTED_DAYS * 86400)
    except BadSignature:  # forged, tampered with, or expired: an ordinary client
        return None
    if not isinstance(value, dict) or value.get("u") != username:
        return None
    device = value.get("d")
    return device if isinstance(device, str) and len(device) <= 32 else None


def _cookie_name(username: str) -> str:
    """One cookie per account this browser logged in to (a console shared by a shift)."""
    return "tq_trusted_" + hashlib.sha256(username.encode()).hexdigest()[:12]


def _serializer() -> URLSafeTimedSerializer:
    key: str | bytes = current_app.config["SECRET_KEY"]  # config.load always sets one
    return URLSafeTimedSerializer(key, salt="tablequeue-trusted-device")
