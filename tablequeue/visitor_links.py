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


def blocked(address: str) -> bool:
    """Too many failed lookups from this address in the current window."""
    limiter = throttle.limiter()
    if not limiter.enabled:
        return False
    limit, seconds = limiter.rate("follow_address")
    return limiter.shared.count(_key(address), seconds) >= limit


def lookup(code: str, address: str) -> PhoneState | None:
    """The code's ticket state; None (unknown or expired) counts against the address."""
    state = follow.lookup(code)
    limiter = throttle.limiter()
    if state is None and limiter.enabled:
        limiter.shared.hit(_key(address), limiter.rate("follow_address")[1])
    return state


def mail_enabled() -> bool:
    config = current_app.config
    return bool(config.get("SMTP_URL") and config.get("MAIL_FROM"))
