"""The service lines' commands (docs/lines.md): a console's `lines`, `serve`, `next`,
`priority` and `transfer`, a kiosk's `lines` and `join`. Each calls the service and
returns an Answer, like live/handlers.py, whose route tables list them."""

from __future__ import annotations

from flask import current_app

from tablequeue import protocol, service
from tablequeue.live import floorwatch
from tablequeue.live.answers import Answer, answer_to, registry
from tablequeue.live.connection import Connection
from tablequeue.live.follow import kiosk as follow_kiosk
from tablequeue.service import taking


def staff_lines(conn: Connection, command: protocol.Lines) -> Answer:
    """Opt in: `lines [...]` now and on every change; if bound, the line-aware greeting.
    From now on the seed frames stop for this console (Room.bound_staff)."""
    return Answer(protocol.SUCCESS_LINES, lambda: _opt_in(conn))


def _opt_in(conn: Connection) -> None:
    conn.line_aware = True
    tell(conn)
    registry().fanout.lines.greet(conn)


def tell(conn: Connection) -> None:
    """`lines [...]` to a line-aware connection: after `success lines`, or first of its
    greeting when it asked with `?lines=1` (docs/protocol.md, "Catching up")."""
    room = registry().room(conn.site)
    if room is not None:
        floorwatch.of(current_app).baseline(room)  # before the greeting's read
        registry().fanout.lines.tell_lines([conn], room)


def greet(conn: Connection) -> None:
    """A line-aware console just bound (`pick`): its lines' greeting, not the seed replay."""
    registry().fanout.lines.greet(conn)


def serve(conn: Connection, command: protocol.Serve) -> Answer:
    outcome = taking.serve(conn.token_hash, command.lines, site=conn.site)
    return answer_to("serve", outcome, protocol.success_serve)


def next_(conn: Connection, command: protocol.Next) -> Answer:
    outcome = taking.next_ticket(conn.token_hash, site=conn.site)
    return answer_to("next", outcome, protocol.success_next)


def priority(conn: Connection, command: protocol.Priority) -> Answer:
    outcome = taking.mark_priority(conn.token_hash, command.ticket_id, command.reason,
                                   site=conn.site)
    return answer_to("priority", outcome, protocol.success_priority)


def transfer(conn: Connection, command: protocol.Transfer) -> Answer:
    outcome = taking.transfer(conn.token_hash, command.ticket_id, command.line, site=conn.site)
    line = command.line or 0  # a success names a real line
    return answer_to("transfer", outcome, lambda ticket: protocol.success_transfer(ticket, line))


def kiosk_lines(conn: Connection, command: protocol.Lines) -> Answer:
    def tell() -> None:
        conn.line_aware = True
        room = registry().room(conn.site)
        if room is not None:
            floorwatch.of(current_app).baseline(room)
            registry().fanout.lines.tell_lines([conn], room)

    return Answer(protocol.SUCCESS_LINES, tell)


def join(conn: Connection, command: protocol.Join) -> Answer:
    """A kiosk's `new` into the line the visitor chose."""
    line = -1 if command.line is None else command.line  # not a number: no such line
    outcome = service.new(command.email, command.name, site=conn.site, line=line)
    if outcome.refusal is None:
        follow_kiosk.remember(conn, outcome.value.id)
    return answer_to("join", outcome, protocol.success_join)
