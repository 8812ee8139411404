"""The three websocket routes: receive a frame, call the service, reply, publish. Thin."""

from __future__ import annotations

import logging
import uuid
from time import perf_counter
from functools import partial
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from flask import Flask, Response, current_app, request, session
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tablequeue import (
    detached, farewell, floorwatch, logs, metrics, protocol, security, service, throttle,
    visitor_kiosk,
)
from tablequeue.broadcast import Connection, Registry, Role, close
from tablequeue.extensions import sock
from tablequeue.outcomes import Event, Outcome, Refusal
from tablequeue.service import admin, away, putback, stats
from tablequeue.service.identity import hash_token

log = logging.getLogger(__name__)


@dataclass
class Answer:
    """The reply to send, then what to do for this connection, then the events to publish."""

    reply: str
    then: Callable[[], None] | None = None
    events: list[Event] = field(default_factory=list)


Handler = Callable[[Connection, Any], Answer]
T = TypeVar("T")


def registry() -> Registry:
    return current_app.extensions["tablequeue.registry"]  # type: ignore[no-any-return]


def _reply(word: str, outcome: Outcome[T], success: Callable[[T], str]) -> Answer:
    if outcome.refusal is not None:
        return Answer(protocol.error(word, outcome.refusal))
    return Answer(success(outcome.value), events=outcome.events)


def _dispatch(handlers: dict[type[Any], Handler]) -> Handler:
    """One table from command type to handler: adding a command is one line here plus its
    rule in `service`; a type the route does not list is an unknown command."""

    def handle(conn: Connection, command: protocol.Command) -> Answer:
        handler = handlers.get(type(command))
        if handler is None:
            return Answer(protocol.unknown(protocol.command_word(command)))
        return handler(conn, command)

    return handle


# ---- staff ---------------------------------------------------------------------------


def _staff_joined(conn: Connection) -> None:
    """A login cookie binds the connection at the handshake; `taken` unless one holds a table."""
    security.watch_sessions(current_app._get_current_object())  # type: ignore[attr-defined]
    token = session.get("token")
    token_hash = hash_token(token) if isinstance(token, str) else None
    staff_id = service.staff_id_for(token_hash)
    if staff_id is not None and token_hash is not None:
        _bind(conn, staff_id, token_hash)
        conn.cookie_token_hash = token_hash
    registry().greet_tableless(conn)


def _bind(conn: Connection, staff_id: int, token_hash: str) -> None:
    """Every waiting ticket as `new`, then the one this staff member serves as `claimed`."""
    conn.bind(staff_id, token_hash, service.waiting_tickets)
    conn.holds_table = service.holds_table(staff_id)
    own = service.own_serving(staff_id)
    if own is not None:
        conn.send(protocol.staff_claimed(own))


def _pick(conn: Connection, command: protocol.Pick) -> Answer:
    registry().relay.settle()  # a ticket claimed just before must not follow the bind
    # Only a connection bound at the handshake may leave the token out: it means the
    # cookie's login, never whatever token an earlier `pick` happened to bind.
    token_hash = hash_token(command.token) if command.token else conn.cookie_token_hash
    outcome = service.pick(token_hash, command.table)
    if outcome.refusal is not None:
        return Answer(protocol.error("pick", outcome.refusal))
    picked = outcome.value
    conn.holds_table = True
    then = None
    if conn.staff_id != picked.staff_id:
        then = lambda: _bind(conn, picked.staff_id, picked.token_hash)  # noqa: E731
    else:
        conn.token_hash = picked.token_hash
    return Answer(protocol.success_pick(picked.table), then, outcome.events)


def _unpick(conn: Connection, command: protocol.Unpick) -> Answer:
    return _reply("unpick", service.unpick(conn.token_hash), lambda _: protocol.SUCCESS_UNPICK)


def _accept(conn: Connection, command: protocol.Accept) -> Answer:
    outcome = service.accept(conn.token_hash, command.ticket_id)
    return _reply("accept", outcome, protocol.success_claimed)


def _cancel(conn: Connection, command: protocol.Cancel) -> Answer:
    outcome = service.cancel(conn.token_hash, command.ticket_id)
    return _reply("cancel", outcome, protocol.success_cancel)


def _complete(conn: Connection, command: protocol.Complete) -> Answer:
    outcome = service.complete(conn.token_hash, command.ticket_id)
    return _reply("complete", outcome, protocol.success_complete)


def _requeue(conn: Connection, command: protocol.Requeue) -> Answer:
    outcome = putback.requeue(conn.token_hash, command.ticket_id)
    return _reply("requeue", outcome, protocol.success_requeue)


def _away(conn: Connection, command: protocol.Away) -> Answer:
    return _reply("away", away.away(conn.token_hash), lambda _: protocol.SUCCESS_AWAY)


def _back(conn: Connection, command: protocol.Back) -> Answer:
    return _reply("back", away.back(conn.token_hash), lambda _: protocol.SUCCESS_BACK)


# ---- kiosk and display ---------------------------------------------------------------


def _new(conn: Connection, command: protocol.New) -> Answer:
    outcome = service.new(command.email, command.name)
    if outcome.ok:
        visitor_kiosk.remember(conn, outcome.value.id)  # type: ignore[attr-defined]
    return _reply("new", outcome, protocol.success_new)


def _follow_link(conn: Connection, command: protocol.Command) -> Answer:
    """Extension: `link` and `notices` (tablequeue.visitor_kiosk)."""
    return Answer(visitor_kiosk.handle(conn, command))


def _query(conn: Connection, command: protocol.Query) -> Answer:
    return _reply("query", service.query(command.email), protocol.success_query)


def _kiosk_command(conn: Connection, command: protocol.Command) -> Answer:
    word = protocol.command_word(command)
    if word in ("new", "query") and not throttle.limiter().command_allowed(
        conn, word, conn.address
    ):
        return Answer(protocol.error(word, Refusal.RATE_LIMITED))
    return _kiosk_handlers(conn, command)


def _display_joined(conn: Connection) -> None:
    """`pick T` for every taken table, then `claimed STAFF T {ticket}` for each in service."""
    redact = not registry().display_shows_email
    with conn.lock:
        for table in service.taken():
            conn.send_held(protocol.display_pick(table))
        for ticket, table in service.tickets_at_tables():
            conn.send_held(protocol.display_claimed(ticket, table, redact_email=redact))


def _display_watch(conn: Connection, command: protocol.Watch) -> Answer:
    return Answer(protocol.SUCCESS_WATCH, lambda: _watch(conn, counts=True, tables=True))


def _staff_watch(conn: Connection, command: protocol.Watch) -> Answer:
    return Answer(protocol.SUCCESS_WATCH, lambda: _watch(conn, counts=False, tables=True))


def _kiosk_watch(conn: Connection, command: protocol.Watch) -> Answer:
    return Answer(protocol.SUCCESS_WATCH, lambda: _watch(conn, counts=False, tables=False))


def _watch(conn: Connection, *, counts: bool, tables: bool) -> None:
    """Extension (docs/protocol.md): the state now, then every change. Under the floor's
    lock, so the floor poll neither misses this connection nor tells it twice."""
    def replay() -> None:
        if counts:
            conn.send_held(protocol.display_waiting(stats.waiting_count()))
            conn.send_held(protocol.display_tables(admin.current_table_count()))
        if tables:
            for table in away.current_away_tables():
                conn.send_held(protocol.table_away(table))

    floorwatch.of(current_app._get_current_object()).watch(conn, replay)  # type: ignore[attr-defined]


# ---- one table per route: command type -> handler ---------------------------------

_staff_command = _dispatch({
    protocol.Pick: _pick,
    protocol.Unpick: _unpick,
    protocol.Accept: _accept,
    protocol.Cancel: _cancel,
    protocol.Complete: _complete,
    protocol.Requeue: _requeue,
    protocol.Away: _away,
    protocol.Back: _back,
    protocol.Watch: _staff_watch,
})

_kiosk_handlers = _dispatch({protocol.New: _new, protocol.Query: _query,
                             protocol.Watch: _kiosk_watch, protocol.Link: _follow_link,
                             protocol.Notices: _follow_link})

_display_command = _dispatch({protocol.Watch: _display_watch})


# ---- the routes ----------------------------------------------------------------------


@sock.route("/ws/staff")
def staff_socket(ws: object) -> None:
    _serve(ws, Role.STAFF, protocol.STAFF_COMMANDS, _staff_command, _staff_joined)


@sock.route("/ws/kiosk")
def kiosk_socket(ws: object) -> None:
    _serve(ws, Role.KIOSK, protocol.KIOSK_COMMANDS, _kiosk_command)


@sock.route("/ws/display")
def display_socket(ws: object) -> None:
    _serve(ws, Role.DISPLAY, protocol.DISPLAY_COMMANDS, _display_command, _display_joined)


@sock.bp.before_request  # type: ignore[union-attr]  (the routes above created sock.bp)
def _decline_deflate() -> None:
    """Unless WS_DEFLATE is on, hide a client's permessage-deflate offer from the handshake:
    a deflate connection needs its own compressor (~256 KB) and its own encoding of every
    broadcast, to save a few hundred bytes per message on a local network."""
    if not current_app.config.get("WS_DEFLATE"):
        request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


@sock.bp.before_request  # type: ignore[union-attr]
def _refuse_when_stopping() -> Response | None:
    """A worker told to stop takes no new websocket: 503 before the upgrade, so the client
    tries again (and reaches a worker that is not stopping) instead of being greeted and
    then dropped."""
    if registry().stopping:
        return Response(protocol.SHUTTING_DOWN, 503, {"Retry-After": "1", "Connection": "close"})
    return None


def _serve(
    ws: object,
    role: Role,
    commands: frozenset[str],
    handle: Handler,
    on_join: Callable[[Connection], None] | None = None,
) -> None:
    """Register, greet, then answer frames until the peer goes; unregister always. Under
    gevent the greeted connection is detached from this request (tablequeue.detached),
    which then ends: an idle websocket keeps no greenlet."""
    peer = detached.Peer(ws) if detached.available() else None
    conn = Connection(peer or ws, role, address=throttle.client_address())  # type: ignore[arg-type]
    conn.base_url = request.host_url
    registry().add(conn)
    conn.request_id, opened = logs.request_id(), perf_counter()
    logs.event("ws_open", role=role.value, request_id=conn.request_id)
    members = registry()

    def closed() -> None:
        members.remove(conn)
        logs.event("ws_close", role=role.value, request_id=conn.request_id,
                   seconds=round(perf_counter() - opened, 1))

    started = False
    try:
        if registry().stopping:  # told to stop while this handshake ran: see _refuse_when_stopping
            close(conn, protocol.GOING_AWAY, protocol.SHUTTING_DOWN)
            return
        security.remember_screen(conn)
        if on_join and not farewell.greeted(conn, on_join):
            return
        if peer is None:  # simple-websocket's own reader; Flask-Sock ends this on close
            while True:
                _received(conn, ws.receive(), commands, handle)  # type: ignore[attr-defined]
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        on_frame = lambda frame: _received(conn, frame, commands, handle)  # noqa: E731
        peer.start(on_frame, closed, partial(_in_app, app),
                   conn.write_control, conn.outlet, throttle.limiter().message_rate())
        started = True
    finally:
        if not started:
            closed()
            if peer is not None:
                peer.sock.close()


def _in_app(app: Flask, work: Callable[[], None]) -> None:
    with app.app_context():
        work()


def _received(conn: Connection, frame: str | bytes, commands: frozenset[str], handle: Handler) -> None:
    if isinstance(frame, bytes):
        conn.send(protocol.BINARY_FRAME)
        return
    command = protocol.parse(frame, commands)
    word, started, answered = protocol.command_word(command), perf_counter(), []
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
