"""A phone that catches up (docs/protocol.md, "Catching up"): `follow CODE N` is `follow
CODE` plus, first, the `state` of each change of its ticket after N that the event log
still holds (a call missed while the phone slept arrives as a call), then its state now
and `mark M`; from then on `mark N` after each run that sent it a frame
(tablequeue.live.catchup.marked). A phone's state is the whole picture, so there is no
`reset`: a trimmed log only leaves the missed changes out. (hub.py is full: this is its
catch-up, beside it.)"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from tablequeue.db import read_only
from tablequeue.live import catchup
from tablequeue.live.connection import Connection
from tablequeue.live.follow.hub import hub_of
from tablequeue.live.follow.line import own_state
from tablequeue.live.registry import registry_of
from tablequeue.outcomes import PhoneState
from tablequeue.service import eventlog, follow


def caught_up(conn: Connection, code: str, since: int) -> Callable[[], None]:
    """What follows `success follow` for a phone that asked with a number."""

    def send() -> None:
        members = registry_of(current_app)
        room, following = members.room(conn.site), conn.follow
        if room is None or following is None:
            return
        room.mark(conn)
        with members.sequencer.held(room):
            last, hub = room.order.last, hub_of(current_app)
            for state in _missed(conn, following.ticket_id, since, last):
                hub.send(conn, state, force=True)  # in order: a later one is no step back
            now = follow.lookup(code)
            if now is not None:  # unless the last missed one said the same
                hub.send(conn, now, force=True)
            if last is not None:
                catchup.mark_now(conn, last)

    return send


def _missed(conn: Connection, ticket_id: int, since: int, last: int | None
            ) -> list[PhoneState]:
    """Its ticket's states from the runs since+1 … last (none if the log lost them)."""
    if last is None or since >= last or last - since > catchup.CATCHUP_MAX:
        return []
    with read_only() as bind:
        runs = eventlog.since(bind, conn.site, since, last, limit=catchup.CATCHUP_MAX)
    states = [own_state(event) for _, events in runs or [] for event in events]
    return [s for s in states if s is not None and s.id == ticket_id]
