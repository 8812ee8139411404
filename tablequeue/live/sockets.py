"""The websocket routes (each screen's at today's URL and under `/s/<slug>/`, and the
phone's): receive a frame, call its handler from the route's dispatch
table (handlers.py; the phone's in follow/handlers.py), reply, publish. Thin."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from time import perf_counter

from flask import Flask, Response, current_app, g, request
from simple_websocket import Server
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tablequeue import protocol, throttle
from tablequeue.extensions import app_object, sock
from tablequeue.live import catchup, detached, farewell, handlers, line_handlers, sessionwatch
from tablequeue.live.answers import Answer, Handler, registry
from tablequeue.live.connection import NO_SITE, Connection, Role, close
from tablequeue.live.follow import handlers as follow_handlers
from tablequeue.ops import logs, metrics
from tablequeue.outcomes import Refusal
from tablequeue.service.directory import directory_of

log = logging.getLogger(__name__)
SITE_PREFIX = "/s/<slug>"
SLUG = re.compile(r"[a-z0-9-]{1,40}")  # anything else is no site's, without a lookup


# ---- the routes ----------------------------------------------------------------------
# Each screen's socket twice: today's URL serves the default site, `/s/<slug>/` the named
# one (an unknown slug is refused before the upgrade: _enter_site). The phone's has one
# URL: its site is its ticket's (live/follow/handlers.py).


@dataclass(frozen=True)
class _Route:
    role: Role
    commands: frozenset[str]
    handle: Handler
    on_join: Callable[[Connection], None] | None = None


_STAFF = _Route(Role.STAFF, protocol.STAFF_COMMANDS, handlers.staff_command,
                handlers.staff_joined)
_KIOSK = _Route(Role.KIOSK, protocol.KIOSK_COMMANDS, handlers.kiosk_command)
_DISPLAY = _Route(Role.DISPLAY, protocol.DISPLAY_COMMANDS, handlers.display_command,
                  handlers.display_joined)
_VISITOR = _Route(Role.VISITOR, protocol.VISITOR_COMMANDS, follow_handlers.visitor_command)


@sock.route("/ws/staff")
def staff_socket(ws: Server) -> None:
    _serve(ws, _STAFF)


@sock.route("/ws/kiosk")
def kiosk_socket(ws: Server) -> None:
    _serve(ws, _KIOSK)


@sock.route("/ws/display")
def display_socket(ws: Server) -> None:
    _serve(ws, _DISPLAY)


@sock.route(f"{SITE_PREFIX}/ws/staff")
def site_staff_socket(ws: Server, slug: str) -> None:
    _serve(ws, _STAFF)


@sock.route(f"{SITE_PREFIX}/ws/kiosk")
def site_kiosk_socket(ws: Server, slug: str) -> None:
    _serve(ws, _KIOSK)


@sock.route(f"{SITE_PREFIX}/ws/display")
def site_display_socket(ws: Server, slug: str) -> None:
    _serve(ws, _DISPLAY)


@sock.route("/ws/visitor")
def visitor_socket(ws: Server) -> None:
    _serve(ws, _VISITOR)


@sock.bp.before_request  # the routes above created sock.bp
def _decline_deflate() -> None:
    """Unless WS_DEFLATE is on, hide a client's permessage-deflate offer from the handshake:
    a deflate connection needs its own compressor (~256 KB) and its own encoding of every
    broadcast, to save a few hundred bytes per message on a local network."""
    if not current_app.config.get("WS_DEFLATE"):
        request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


@sock.bp.before_request
def _refuse_when_stopping() -> Response | None:
    """A worker told to stop takes no new websocket: 503 before the upgrade, so the client
    tries again (and reaches a worker that is not stopping) instead of being greeted and
    then dropped."""
    if registry().stopping:
        return Response(protocol.SHUTTING_DOWN, 503, {"Retry-After": "1", "Connection": "close"})
    return None


@sock.bp.before_request
def _enter_site() -> Response | None:
    """The screen's site, from its URL, before the upgrade: an unknown slug is a plain 404
    (the client is never greeted). Today's URLs serve the default site; the phone's route
    has none until it follows a ticket."""
    if request.endpoint is None or request.endpoint.endswith(".visitor_socket"):
        return None
    slug = (request.view_args or {}).get("slug")
    directory = directory_of(current_app)
    site = directory.by_slug(slug) if slug is not None and SLUG.fullmatch(slug) \
        else directory.default() if slug is None else None
    if site is None:
        return Response("There is no site at this address.\n", 404, {"Connection": "close"},
                        mimetype="text/plain")
    g.live_site = site.id
    return None


def _serve(ws: Server, route: _Route) -> None:
    """Register, greet, then answer frames until the peer goes; unregister always. Under
    gevent the greeted connection is detached from this request (tablequeue.live.detached),
    which then ends: an idle websocket keeps no greenlet."""
    role, commands, handle, on_join = route.role, route.commands, route.handle, route.on_join
    peer = detached.Peer(ws) if detached.available() else None
    conn = Connection(peer or ws, role, address=throttle.client_address(),
                      site=g.get("live_site", NO_SITE))
    conn.base_url = request.host_url
    if on_join is not None:  # a display or a console: it may ask to catch up (catchup.py)
        on_join = _opt_in(conn, on_join)
    members = registry()
    members.add(conn)
    conn.request_id, opened = logs.request_id(), perf_counter()
    logs.event("ws_open", role=role.value, request_id=conn.request_id)

    def closed() -> None:
        members.remove(conn)
        logs.event("ws_close", role=role.value, request_id=conn.request_id,
                   seconds=round(perf_counter() - opened, 1))

    started = False
    try:
        if members.stopping:  # told to stop while this handshake ran: see _refuse_when_stopping
            close(conn, protocol.GOING_AWAY, protocol.SHUTTING_DOWN)
            return
        sessionwatch.remember_screen(conn)
        if on_join and not farewell.greeted(conn, on_join):
            return
        if peer is None:  # simple-websocket's own reader; Flask-Sock ends this on close
            while True:
                frame = ws.receive()
                if frame is not None:  # no timeout: None only if woken with nothing to read
                    _received(conn, frame, commands, handle)
        app = app_object()
        on_frame = partial(_received, conn, commands=commands, handle=handle)
        peer.start(on_frame, closed, partial(_in_app, app),
                   conn.write_control, conn.outlet, throttle.limiter().message_rate())
        started = True
    finally:
        if not started:
            closed()
            if peer is not None:
                peer.sock.close()


def _opt_in(conn: Connection, on_join: Callable[[Connection], None]
            ) -> Callable[[Connection], None]:
    """The handshake query (docs/protocol.md, "Catching up"): `since` and `lines`; the
    greeting that fits. A bad value is answered first, as `error since …` / `error lines …`,
    and otherwise ignored: a bad `since` still opts in, without a number (a full greeting)."""
    asked = protocol.handshake(request.args)
    for error in asked.errors:
        conn.send(error)
    conn.marking, conn.since = asked.marking, asked.since
    conn.line_aware = asked.lines and conn.role is Role.STAFF
    if conn.line_aware:  # as if it sent `lines` first: the lines, then its greeting
        on_join = partial(_lines_first, on_join)
    conn.held_back = conn.marking  # until its catch-up is read: see catchup.join
    return partial(catchup.join, on_join=on_join) if conn.marking else on_join


def _lines_first(on_join: Callable[[Connection], None], conn: Connection) -> None:
    line_handlers.tell(conn)
    on_join(conn)


def _in_app(app: Flask, work: Callable[[], None]) -> None:
    with app.app_context():
        work()


def _received(conn: Connection, frame: str | bytes, commands: frozenset[str],
              handle: Handler) -> None:
    if isinstance(frame, bytes):
        conn.send(protocol.BINARY_FRAME)
        return
    command = protocol.parse(frame, commands)
    word, started = protocol.command_word(command), perf_counter()
    answered: list[str] = []
    _guarded(conn, word, lambda: _respond(conn, handle(conn, command), answered))
    ok, known = bool(answered) and protocol.succeeded(answered[0]), word in commands
    metrics.command(word if known else "unknown", ok, perf_counter() - started)
    if not ok and logs.enabled():
        reply = answered[0] if answered else protocol.error(word, Refusal.INTERNAL)
        logs.command_refused(conn.role.value, word, known, reply, conn.request_id)


def _respond(conn: Connection, answer: Answer, answered: list[str] | None = None) -> None:
    """One reply per command, always: what follows the reply (the bind replay after
    `pick`) cannot take it back, so if it fails the connection is told to come back
    rather than sent a second, contradicting reply."""
    if answered is not None:
        answered.append(answer.reply)
        metrics.observe_events(answer.events)
    failed: list[Exception] = []

    def reply() -> None:
        conn.send(answer.reply)
        if answer.then:
            try:
                answer.then()
            except Exception as failure:  # the events must still be delivered, below
                failed.append(failure)

    registry().publish(answer.events, reply)
    if failed:
        farewell.come_back(conn, "replay", failed[0])


def _guarded(conn: Connection, word: str, action: Callable[[], None]) -> None:
    """Run one unit of work; a failure answers `error <word> ...`, never a traceback."""
    try:
        action()
    except (OperationalError, PoolTimeout):
        log.warning("database unavailable while handling %r", word, exc_info=True)
        if word:  # a failed greeting has no command to answer; the client may reconnect
            conn.send(protocol.error(word, Refusal.UNAVAILABLE))
    except Exception:
        request_id = uuid.uuid4().hex[:12]
        log.exception("request %s: %r failed on /ws/%s", request_id, word, conn.role.value)
        if word:
            conn.send(protocol.error(word, Refusal.INTERNAL))
