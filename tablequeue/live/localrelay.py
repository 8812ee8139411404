"""The relay of one process (no REDIS_URL): publishing is delivering, through the
sequencer (tablequeue.live.sequencer), so that two greenlets that publish runs n+1 and n
of a site in that order still deliver n first, and a change committed by a `flask` command
in another process reaches the screens through the event watch's poll of the log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from tablequeue import protocol
from tablequeue.db import read_only
from tablequeue.live.connection import Role, close
from tablequeue.live.rooms import Room
from tablequeue.live.sequencer import GAP_WAIT, Sequencer, anchor_held, by_site
from tablequeue.outcomes import Event, SiteId
from tablequeue.service import eventlog

log = logging.getLogger(__name__)

DELIVERED_WAIT = 1.0  # longest a publisher waits for its runs to be delivered (in order)


class Registry(Protocol):
    """What the relay asks of the registry (tablequeue.live.registry.Registry)."""

    @property
    def sequencer(self) -> Sequencer: ...
    def room(self, site: SiteId) -> Room | None: ...
    def deliver(self, events: Iterable[Event]) -> None: ...
    def close(self, room: Room) -> bool: ...


class LocalRelay:
    """One process: publishing is delivering, and an empty room has nothing to keep."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def publish(self, events: list[Event], reply: Callable[[], None]) -> None:
        reply()
        waits: list[tuple[Room, int]] = []
        for site, run in by_site(events):
            room, n = self.registry.room(site), run[0].seq
            if room is None or n == 0:  # no screens here, or unnumbered (the floor nudge)
                self.registry.deliver(run)
                continue
            self.registry.sequencer.offer(room, n, run)
            waits.append((room, n))
        for room, n in waits:  # as before: the actor's next frame is read after these went out
            _until_delivered(room, n)

    def settle(self) -> None:
        pass  # delivery happened inside publish

    def join(self, room: Room) -> None:
        """A new room starts from the newest number (its first greeting reads after it);
        if the database is away the event watch anchors it later."""
        try:
            self.registry.sequencer.anchor_newest(room)
        except Exception:
            log.warning("could not read the newest event of %r", room, exc_info=True)

    def vacated(self, room: Room) -> None:
        self.registry.close(room)

    def before(self, room: Room, n: int) -> None:
        pass  # the reply went before the run was offered

    def after(self, room: Room, n: int, events: list[Event]) -> None:
        pass  # no picture to keep: nothing is ever lost in one process but by a restore

    def fallback(self, room: Room) -> None:
        """The log cannot say what the room missed (trimmed, or the database went back in
        time): its screens are told to come back (1013) and are greeted afresh."""
        try:
            with read_only() as db:
                newest = eventlog.newest(db, [room.site]).get(room.site, 0)
        except Exception:
            log.warning("could not read the newest event of %r", room, exc_info=True)
            return
        with self.registry.sequencer.held(room):
            anchor_held(room, newest)
            for role in Role:
                for member in room.members(role):
                    close(member, protocol.TRY_AGAIN_LATER, protocol.COME_BACK)

    def health(self) -> dict[str, Any]:
        return {"state": "disabled"}  # no REDIS_URL: nothing between workers to fail


def _until_delivered(room: Room, n: int) -> None:
    """Bounded: a run behind a hole waits for the log (GAP_WAIT, then one read)."""
    if (room.order.last or 0) >= n:
        return
    deadline = time.monotonic() + DELIVERED_WAIT
    time.sleep(0)
    while (room.order.last or 0) < n and not room.closed and time.monotonic() < deadline:
        time.sleep(GAP_WAIT / 5)
