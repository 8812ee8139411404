"""What every response and handshake must carry or pass: security headers and a CSP without
inline script, CSRF on forms, cookies marked Secure over HTTPS, the websocket `Origin`
check, device keys for public screens (a key opens its own site's screens only), and clear
answers when the database is down.
docs/security.md says what each of these defends against. (Closing the live connections
of a revoked session or device key is the live layer's: tablequeue.live.sessionwatch.)"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

from tablequeue.outcomes import SiteView
from tablequeue.service import devices
from tablequeue.service.directory import directory_of

log = logging.getLogger(__name__)
csrf = CSRFProtect()
DEVICE_COOKIE = "tq_device"
DEVICE_HEADER = "X-Device-Key"
_SCREENS = {"/kiosk": "kiosk", "/ws/kiosk": "kiosk",
            "/display": "display", "/ws/display": "display"}
# A site's screens: /s/<slug> then the same paths as the default site's.
_SITE_PATH = re.compile(r"/s/([^/]+)(/.*|)")


class _SessionInterface(SecureCookieSessionInterface):
    """SECURE_COOKIES=auto: the session cookie is Secure whenever the request was HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        mode = app.config["SECURE_COOKIES"]
        return mode == "on" or (mode == "auto" and request.is_secure)


def cookie_secure() -> bool:
    return _SessionInterface().get_cookie_secure(current_app)


def content_security_policy() -> str:
    """Scripts and styles only from our own files; no frames around us; sockets to us."""
    try:
        sockets = f" ws://{request.host} wss://{request.host}"
    except SecurityError:  # an untrusted Host (TRUSTED_HOSTS): its 400 still gets a CSP
        sockets = ""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src 'self'{sockets}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # same-origin, not no-referrer: Flask-WTF checks the Referer of HTTPS form posts.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if response.mimetype == "text/html":
        # Pages carry names, emails and session tokens: no shared or back-button caches.
        headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def origin_allowed(origin: str | None) -> bool:
    """Our own origin or one from ALLOWED_ORIGINS. No Origin at all: not a browser (every
    browser sends one on a websocket handshake), so cross-site hijacking cannot apply."""
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    if origin in current_app.config["ALLOWED_ORIGINS"]:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == request.host.lower()


def presented_device_key() -> str | None:
    return request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE)


def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status, mimetype="text/plain")


def screen_site(path: str) -> tuple[SiteView | None, str]:
    """The site a path belongs to and the path within it (`/s/b/ws/kiosk`: b, `/ws/kiosk`);
    today's paths are the default site's. None: `/s/<slug>` of no site."""
    directory = directory_of(current_app)
    found = _SITE_PATH.fullmatch(path)
    if found is None:
        return directory.default(), path
    return directory.by_slug(found.group(1)), found.group(2) or "/"


def _guard_screens() -> BaseResponse | None:
    """Refuse a cross-origin websocket handshake; ask a public screen for its device key,
    a key issued at the screen's own site. A screen of no site is a 404, before either."""
    path = request.path.rstrip("/") or "/"
    if not (path.startswith(("/ws/", "/s/", "/kiosk", "/display"))):
        return None  # no screen: no site to look up (logins, the phone, static files)
    site, inner = screen_site(path)
    if site is None:
        return _plain("there is no site at this address", 404)
    if inner.startswith("/ws/") and not origin_allowed(request.headers.get("Origin")):
        log.warning("refused a websocket handshake to %s from origin %r", path,
                    request.headers.get("Origin"))
        return _plain("this origin may not open the queue's websockets", 403)
    # The screen's pages too (/kiosk/ticket/7 is the kiosk's), not only its websocket.
    kind = _SCREENS.get(inner) or _SCREENS.get("/" + inner.lstrip("/").split("/", 1)[0])
    if kind is None or kind not in current_app.config["DEVICE_KEYS"]:
        return None
    if devices.key_valid(kind, presented_device_key(), site=site.id):
        return None
    if inner.startswith("/ws/"):
        return _plain(f"this {kind} needs a valid device key", 403)
    return redirect(url_for("auth.device", next=path))


def _csrf_refused(error: CSRFError) -> Response:
    return _plain(
        "This form could not be accepted: its security token is missing or stale "
        f"({error.description}). Reload the page and try again.", 400,
    )


def _database_down(error: Exception) -> Response:
    log.warning("database unavailable on %s", request.path, exc_info=error)
    response = _plain("The queue's database is unavailable right now. "
                      "This page works again as soon as it is back; try again in a moment.", 503)
    response.headers["Retry-After"] = "5"
    return response


def init_app(app: Flask) -> None:
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        # Not x_host: the proxy passes Host through, and a client-sent X-Forwarded-Host
        # must never redefine "our own origin" for the websocket check.
        # Flask's documented way to wrap the app in middleware; its types call it a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.session_interface = _SessionInterface()
    csrf.init_app(app)
    app.before_request(_guard_screens)
    app.after_request(_headers)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(PoolTimeout, _database_down)
