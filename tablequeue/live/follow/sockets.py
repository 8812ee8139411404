"""/ws/visitor: a visitor's phone follows its own ticket (the fourth route; see
docs/protocol.md, "Extensions"). It carries only that ticket's state."""

from __future__ import annotations

from flask import current_app

from tablequeue import protocol
from tablequeue.live import sockets
from tablequeue.service import follow_links
from tablequeue.live.registry import Connection, Role
from tablequeue.extensions import sock
from tablequeue.outcomes import PhoneState, Refusal
from tablequeue.service import follow
from tablequeue.live.follow.hub import Following, Hub, hub_of


def _hub() -> Hub:
    return hub_of(current_app)


def _follow(conn: Connection, command: protocol.Follow) -> sockets.Answer:
    throttled, first = follow_links.lookup(command.code, conn.address)
    if throttled:
        return sockets.Answer(protocol.error("follow", Refusal.RATE_LIMITED))
    if first is None:
        _hub().remove(conn)
        return sockets.Answer(protocol.error("follow", Refusal.LINK_INVALID))
    _hub().add(conn, first.id, command.code)
    # Read again once registered: an event committed before this read is in it, one
    # committed after reaches the phone through the hub (a late one never takes it back).
    state = follow.lookup(command.code) or first
    return sockets.Answer(protocol.SUCCESS_FOLLOW, lambda: _hub().send(conn, state, force=True))


def _refresh(conn: Connection, following: Following) -> sockets.Answer:
    state: PhoneState | None = follow.lookup(following.code)
    if state is None:
        return sockets.Answer(protocol.error("refresh", Refusal.LINK_INVALID))
    following.sent = ""  # a phone that asks gets the state even if it was sent before
    return sockets.Answer(protocol.SUCCESS_REFRESH, lambda: _hub().send(conn, state, force=True))


def _command(conn: Connection, command: protocol.Command) -> sockets.Answer:
    if isinstance(command, protocol.Follow):
        return _follow(conn, command)
    if isinstance(command, (protocol.Refresh, protocol.Leave)):
        word = protocol.command_word(command)
        following = conn.follow
        if not isinstance(following, Following):
            return sockets.Answer(protocol.error(word, Refusal.NOT_FOLLOWING))
        if isinstance(command, protocol.Refresh):
            return _refresh(conn, following)
        outcome = follow.leave(following.code)
        if not outcome.ok:
            return sockets.Answer(protocol.error(word, outcome.refusal))  # type: ignore[arg-type]
        return sockets.Answer(protocol.SUCCESS_LEAVE, events=outcome.events)
    return sockets.Answer(protocol.unknown(protocol.command_word(command)))


@sock.route("/ws/visitor")
def visitor_socket(ws: object) -> None:
    sockets._serve(ws, Role.VISITOR, protocol.VISITOR_COMMANDS, _command)
