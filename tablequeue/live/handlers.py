"""What each websocket command does on its route: a handler per command word, calling the
service and returning an Answer (the reply, what follows it, the events), and one dispatch
table per route (the phone's, /ws/visitor, is in live/follow/handlers.py). sockets.py
receives the frames, runs these and sends; thin both ways."""

from __future__ import annotations

from functools import partial

from flask import current_app, session

from tablequeue import protocol, service, throttle
from tablequeue.live import floorwatch, line_handlers
from tablequeue.live.answers import Answer, answer_to, dispatch, registry
from tablequeue.live.connection import Connection
from tablequeue.live.follow import kiosk as follow_kiosk
from tablequeue.outcomes import Refusal
from tablequeue.service import admin, away, putback, stats
from tablequeue.service.identity import hash_token

# ---- staff ---------------------------------------------------------------------------


def staff_joined(conn: Connection) -> None:
    """A login cookie binds the connection at the handshake, at the account's own sites only;
    `taken` unless one holds a table."""
    staff_id, token_hash = cookie_login(conn)
    if staff_id is not None and token_hash is not None:
        _bind(conn, staff_id, token_hash)
    registry().greet_tableless(conn)


def cookie_login(conn: Connection) -> tuple[int | None, str | None]:
    """The staff member this site's console is logged in as by its cookie, and the token's
    hash; the hash is kept on the connection even where the account does not work here
    (its `pick` then says "not a member")."""
    token = session.get("token")
    token_hash = hash_token(token) if isinstance(token, str) else None
    conn.cookie_token_hash = token_hash
    return service.staff_id_for(token_hash, site=conn.site), token_hash


def _bind(conn: Connection, staff_id: int, token_hash: str) -> None:
    """Every waiting ticket as `new`, then the one this staff member serves as `claimed`
    (a line-aware console: its lines' greeting instead, live/line_fanout.py)."""
    if conn.line_aware:
        conn.bind(staff_id, token_hash, list)
        conn.holds_table = service.holds_table(staff_id, site=conn.site)
        line_handlers.greet(conn)
        return
    conn.bind(staff_id, token_hash, partial(service.waiting_tickets, site=conn.site))
    conn.holds_table = service.holds_table(staff_id, site=conn.site)
    own = service.own_serving(staff_id, site=conn.site)
    if own is not None:
        conn.send(protocol.staff_claimed(own))


def _pick(conn: Connection, command: protocol.Pick) -> Answer:
    registry().relay.settle()  # a ticket claimed just before must not follow the bind
    registry().level(conn.site)  # nor one committed elsewhere (a `flask` command)
    # Only a connection bound at the handshake may leave the token out: it means the
    # cookie's login, never whatever token an earlier `pick` happened to bind.
    token_hash = hash_token(command.token) if command.token else conn.cookie_token_hash
    outcome = service.pick(token_hash, command.table, site=conn.site)
    if outcome.refusal is not None:
        return Answer(protocol.error("pick", outcome.refusal))
    picked = outcome.value
    conn.holds_table = True
    then = None
    if conn.staff_id != picked.staff_id:
        then = partial(_rebind, conn, picked.staff_id, picked.token_hash)
    else:
        conn.token_hash = picked.token_hash
    return Answer(protocol.success_pick(picked.table), then, outcome.events)


def _rebind(conn: Connection, staff_id: int, token_hash: str) -> None:
    """Bound by `pick` after the handshake: a console that catches up is told `reset`
    first (docs/protocol.md, "Catching up"), as its whole waiting list follows."""
    if conn.marking:
        conn.send(protocol.RESET)
    _bind(conn, staff_id, token_hash)


def _unpick(conn: Connection, command: protocol.Unpick) -> Answer:
    outcome = service.unpick(conn.token_hash, site=conn.site)
    return answer_to("unpick", outcome, lambda _: protocol.SUCCESS_UNPICK)


def _accept(conn: Connection, command: protocol.Accept) -> Answer:
    outcome = service.accept(conn.token_hash, command.ticket_id, site=conn.site)
    return answer_to("accept", outcome, protocol.success_claimed)


def _cancel(conn: Connection, command: protocol.Cancel) -> Answer:
    outcome = service.cancel(conn.token_hash, command.ticket_id, site=conn.site)
    return answer_to("cancel", outcome, protocol.success_cancel)


def _complete(conn: Connection, command: protocol.Complete) -> Answer:
    outcome = service.complete(conn.token_hash, command.ticket_id, site=conn.site)
    return answer_to("complete", outcome, protocol.success_complete)


def _requeue(conn: Connection, command: protocol.Requeue) -> Answer:
    outcome = putback.requeue(conn.token_hash, command.ticket_id, site=conn.site)
    return answer_to("requeue", outcome, protocol.success_requeue)


def _away(conn: Connection, command: protocol.Away) -> Answer:
    outcome = away.away(conn.token_hash, site=conn.site)
    return answer_to("away", outcome, lambda _: protocol.SUCCESS_AWAY)


def _back(conn: Connection, command: protocol.Back) -> Answer:
    outcome = away.back(conn.token_hash, site=conn.site)
    return answer_to("back", outcome, lambda _: protocol.SUCCESS_BACK)


# ---- kiosk and display ---------------------------------------------------------------


def _new(conn: Connection, command: protocol.New) -> Answer:
    outcome = service.new(command.email, command.name, site=conn.site)
    if outcome.refusal is None:
        follow_kiosk.remember(conn, outcome.value.id)
    return answer_to("new", outcome, protocol.success_new)


def _link(conn: Connection, command: protocol.Link) -> Answer:
    """Extension: the follow link of a ticket this kiosk made (tablequeue.live.follow.kiosk)."""
    return Answer(follow_kiosk.link(conn, command))


def _notices(conn: Connection, command: protocol.Notices) -> Answer:
    """Extension: did this visitor ask for email last time (tablequeue.live.follow.kiosk)."""
    return Answer(follow_kiosk.notices(conn, command))


def _query(conn: Connection, command: protocol.Query) -> Answer:
    outcome = service.query(command.email, site=conn.site)
    return answer_to("query", outcome, protocol.success_query)


def kiosk_command(conn: Connection, command: protocol.Command) -> Answer:
    word = protocol.command_word(command)
    budget = "new" if word == "join" else word  # a `new` into a chosen line
    if budget in ("new", "query") and not throttle.limiter().command_allowed(
        conn, budget, conn.address
    ):
        return Answer(protocol.error(word, Refusal.RATE_LIMITED))
    return _kiosk_handlers(conn, command)


def display_joined(conn: Connection) -> None:
    """`pick T` for every taken table, then `claimed STAFF T {ticket}` for each in service."""
    redact = not registry().display_shows_email
    with conn.lock:
        for table in service.taken(site=conn.site):
            conn.send_held(protocol.display_pick(table))
        for ticket, table in service.tickets_at_tables(site=conn.site):
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
            conn.send_held(protocol.display_waiting(stats.waiting_count(site=conn.site)))
            conn.send_held(protocol.display_tables(admin.current_table_count(site=conn.site)))
        if tables:
            for table in away.current_away_tables(site=conn.site):
                conn.send_held(protocol.table_away(table))

    floorwatch.of(current_app).watch(conn, replay)  # now: `of` only reads the slot


# ---- one table per route: command type -> handler ---------------------------------

staff_command = dispatch({
    protocol.Pick: _pick,
    protocol.Unpick: _unpick,
    protocol.Accept: _accept,
    protocol.Cancel: _cancel,
    protocol.Complete: _complete,
    protocol.Requeue: _requeue,
    protocol.Away: _away,
    protocol.Back: _back,
    protocol.Watch: _staff_watch,
    # Service lines (docs/lines.md)
    protocol.Lines: line_handlers.staff_lines,
    protocol.Serve: line_handlers.serve,
    protocol.Next: line_handlers.next_,
    protocol.Priority: line_handlers.priority,
    protocol.Transfer: line_handlers.transfer,
})

_kiosk_handlers = dispatch({protocol.New: _new, protocol.Query: _query,
                            protocol.Watch: _kiosk_watch, protocol.Link: _link,
                            protocol.Notices: _notices, protocol.Lines: line_handlers.kiosk_lines,
                            protocol.Join: line_handlers.join})

display_command = dispatch({protocol.Watch: _display_watch})
