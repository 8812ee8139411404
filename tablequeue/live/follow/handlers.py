"""What a visitor's phone may say on /ws/visitor (the fourth route; see docs/protocol.md,
"Extensions"): `follow CODE`, `refresh`, `leave`. One dispatch table, like the other
routes' (tablequeue.live.handlers); live/sockets.py serves them all the same way. A phone
carries only its own ticket's state, and its connection is in its ticket's site's room."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy import select

from tablequeue import protocol
from tablequeue.db import unit_of_work
from tablequeue.live.answers import Answer, Handler, answer_to, dispatch
from tablequeue.live.connection import Connection
from tablequeue.live.follow.catchup import caught_up
from tablequeue.live.follow.hub import Following, Hub, hub_of
from tablequeue.live.registry import registry_of
from tablequeue.models import Ticket
from tablequeue.outcomes import PhoneState, Refusal, SiteId
from tablequeue.service import follow, follow_links


def _hub() -> Hub:
    return hub_of(current_app)


def _follow(conn: Connection, command: protocol.Follow) -> Answer:
    throttled, first = follow_links.lookup(command.code, conn.address)
    if throttled:
        return Answer(protocol.error("follow", Refusal.RATE_LIMITED))
    if first is None:
        _hub().remove(conn)
        return Answer(protocol.error("follow", Refusal.LINK_INVALID))
    site = ticket_site(first.id)
    if site is None:  # removed with its site a moment ago
        _hub().remove(conn)
        return Answer(protocol.error("follow", Refusal.LINK_INVALID))
    _hub().remove(conn)  # from the line of the site it followed before, if any
    registry_of(current_app).move(conn, site)  # the ticket's site's room: its events
    _hub().add(conn, first.id, command.code)
    # Read again once registered: an event committed before this read is in it, one
    # committed after reaches the phone through the hub (a late one never takes it back).
    if command.since is not None:  # docs/protocol.md, "Catching up"
        return Answer(protocol.SUCCESS_FOLLOW, caught_up(conn, command.code, command.since))
    state = follow.lookup(command.code) or first
    return Answer(protocol.SUCCESS_FOLLOW, _send(conn, state))


def ticket_site(ticket_id: int) -> SiteId | None:
    """The site a followed ticket belongs to: the phone's room is that site's."""
    with unit_of_work() as session:
        site = session.scalar(select(Ticket.site_id).where(Ticket.id == ticket_id))
    return SiteId(site) if site is not None else None


def _send(conn: Connection, state: PhoneState) -> Callable[[], None]:
    """What follows the reply: the state, even if this phone was sent it before."""

    def send() -> None:
        _hub().send(conn, state, force=True)

    return send


def _following(act: Callable[[Connection, Following], Answer]) -> Handler:
    """`refresh` and `leave` are about the ticket this phone follows: without one, the
    answer is `error WORD` not following."""

    def handle(conn: Connection, command: protocol.Command) -> Answer:
        following = conn.follow
        if following is None:
            return Answer(protocol.error(protocol.command_word(command), Refusal.NOT_FOLLOWING))
        return act(conn, following)

    return handle


def _refresh(conn: Connection, following: Following) -> Answer:
    state: PhoneState | None = follow.lookup(following.code)
    if state is None:
        return Answer(protocol.error("refresh", Refusal.LINK_INVALID))
    following.sent = ""  # a phone that asks gets the state even if it was sent before
    return Answer(protocol.SUCCESS_REFRESH, _send(conn, state))


def _leave(conn: Connection, following: Following) -> Answer:
    return answer_to("leave", follow.leave(following.code), lambda _: protocol.SUCCESS_LEAVE)


visitor_command = dispatch({
    protocol.Follow: _follow,
    protocol.Refresh: _following(_refresh),
    protocol.Leave: _following(_leave),
})
