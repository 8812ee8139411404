"""Follow links shared by the phone page and /ws/visitor: the address a link is built on,
and the throttle on lookups (failed ones count per address, as failed logins do)."""

from __future__ import annotations

from flask import current_app

from tablequeue import throttle
from tablequeue.outcomes import PhoneState
from tablequeue.service import follow


def link_url(base_url: str, code: str) -> str:
    """PUBLIC_URL when set (a kiosk may reach the server by a name phones cannot), else
    the address the kiosk used."""
    base = current_app.config.get("PUBLIC_URL") or base_url.rstrip("/")
    return f"{base}/v/{code}"


def _key(address: str) -> str:
    return f"follow:address:{address}"


def lookup(code: str, address: str) -> tuple[bool, PhoneState | None]:
    """(throttled, the code's ticket state or None when unknown or expired).

    The lookup takes its place in the address's counter before the code is read, as a
    login attempt does (login_guard): an atomic increment, so forty guesses sent at once
    are forty places and at most the limit of them are looked up. A code that is found
    gives its place back: only failures count, and a valid link never unlocks guessing."""
    limiter = throttle.limiter()
    if not limiter.enabled:
        return False, follow.lookup(code)
    limit, seconds = limiter.rate("follow_address")
    if limiter.shared.hit(_key(address), seconds) > limit:
        return True, None
    state = follow.lookup(code)
    if state is not None:
        limiter.shared.give_back(_key(address), seconds)
    return False, state


def mail_enabled() -> bool:
    config = current_app.config
    return bool(config.get("SMTP_URL") and config.get("MAIL_FROM"))
