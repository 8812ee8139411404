"""The only code that delivers a site's numbered runs (issue 27, docs/design-27.md §2).

Each transaction with events writes one `event_log` row per site, numbered per site in
commit order without holes (tablequeue.service.eventlog), and every event of the run
carries that number (`Event.seq`). A room (tablequeue.live.rooms, `Room.order`) delivers
its site's runs one after the other, n after n-1, whatever way they came: through the
relay (Redis, or in one process directly), from the log when a run went missing (its
worker died between commit and publish, Redis dropped it), or both (the later copy is
dropped: anything at or below `last` is).

`offer` queues a run; the caller delivers the queue if it can take `order.lock` without
waiting, else the holder does before it lets go (`held`), so the Redis listener never
waits on a room. A hole in front of the queue waits GAP_WAIT (runs from different workers
often overtake each other), then the event watch (tablequeue.live.eventwatch) `fill`s it
from the log: every number below one received is committed, so it is there.

Delivering run n, under `order.lock`: `relay.before(room, n)` (the publishing worker's
reply goes first), `Registry.deliver_run` (claim book, fan-out, phones), `relay.after`
(the relay's picture of the room), then every `Registry.after_run` hook with (room, n),
then `last = n`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import groupby
from operator import attrgetter
from typing import Protocol

from tablequeue.db import read_only
from tablequeue.live.rooms import Room
from tablequeue.ops import metrics
from tablequeue.outcomes import Event, SiteId
from tablequeue.service import eventlog

log = logging.getLogger(__name__)

GAP_WAIT = 0.05  # seconds a hole waits for its run before it is read from the log


class Hooks(Protocol):
    """What the sequencer asks of the relay (registry.Relay has them)."""

    def before(self, room: Room, n: int) -> None: ...
    def after(self, room: Room, n: int, events: list[Event]) -> None: ...
    def fallback(self, room: Room) -> None: ...


class Registry(Protocol):
    """What the sequencer asks of the registry (tablequeue.live.registry.Registry)."""

    @property
    def relay(self) -> Hooks: ...
    @property
    def after_run(self) -> list[Callable[[Room, int], None]]: ...
    def deliver_run(self, room: Room, events: list[Event]) -> None: ...


class Sequencer:
    """The numbered runs of every room of one registry (one worker)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.wake = threading.Event()  # a hole is due soon: the event watch looks at once

    # ---- offering and delivering -------------------------------------------------------

    def offer(self, room: Room, n: int, events: list[Event]) -> None:
        """Queue run `n` of the room's site and deliver what is in order (never waits
        for the room's lock: whoever holds it delivers before letting go)."""
        order = room.order
        if order.last is not None and n <= order.last:
            return  # delivered already (its other copy came first)
        order.queue.setdefault(n, events)
        self.pump(room)

    def pump(self, room: Room) -> None:
        """Deliver the room's queue as far as it is in order, unless another holds the lock
        (then it will). Looks again after letting go: a run offered meanwhile is not left."""
        order = room.order
        while _ready(room):
            if not order.lock.acquire(blocking=False):
                return
            try:
                self.drain(room)
            finally:
                order.lock.release()
        if order.queue and order.last is not None and order.due is None:
            order.due = time.monotonic() + GAP_WAIT  # a hole: the event watch fills it
            self.wake.set()

    def drain(self, room: Room) -> None:
        """With `room.order.lock` held: deliver last+1, last+2, ... from the queue, drop
        what is at or below `last`, and stop at a hole (due for a fill after GAP_WAIT)."""
        order = room.order
        while order.last is not None and order.queue:
            n = min(order.queue)
            if n > order.last + 1:
                if order.due is None:
                    order.due = time.monotonic() + GAP_WAIT
                    self.wake.set()
                return
            events = order.queue.pop(n)
            if n > order.last:
                self._deliver(room, n, events)
        order.due = None

    def _deliver(self, room: Room, n: int, events: list[Event]) -> None:
        relay, order = self.registry.relay, room.order
        try:
            relay.before(room, n)
            self.registry.deliver_run(room, events)
            relay.after(room, n, events)
        except Exception:  # a bug: the next runs still go out, in order
            log.exception("delivering run %d of %r failed", n, room)
        for hook in self.registry.after_run:
            try:
                hook(room, n)
            except Exception:
                log.exception("an after_run hook failed for run %d of %r", n, room)
        order.last, order.heard = n, time.monotonic()

    @contextmanager
    def held(self, room: Room) -> Iterator[None]:
        """`room.order.lock`, and on the way out the runs offered meanwhile delivered:
        hold the lock through this when sending a room anything out of the stream (a
        state resync, a screen's catch-up)."""
        try:
            with room.order.lock:
                try:
                    yield
                finally:  # a failed catch-up must not strand the runs queued behind it
                    self.drain(room)
        finally:
            self.pump(room)

    def anchor(self, room: Room, n: int, *, unless_anchored: bool = False) -> None:
        """The room's screens know everything up to `n` (a greeting or resync read that
        number in its snapshot): deliver from n+1 on."""
        with self.held(room):
            if not (unless_anchored and room.order.last is not None):
                anchor_held(room, n)

    def anchor_newest(self, room: Room) -> None:
        """A room no resync anchors (one process, or Redis away): from the newest number,
        read now (its connections' greetings read after this). Raises if the database
        is away (then the event watch anchors it later)."""
        if room.order.last is None:
            with read_only() as conn:
                newest = eventlog.newest(conn, [room.site]).get(room.site, 0)
            self.anchor(room, newest, unless_anchored=True)

    # ---- reading the log ---------------------------------------------------------------

    def level(self, room: Room) -> None:
        """Before a connection of the room reads the state (its greeting, a console's bind):
        deliver what was committed and not yet delivered here (a `flask` command's change,
        a run still on its way), so it does not reach that connection a second time after
        its greeting. One read of the site's newest number; a failed read is left to the
        greeting, which reads the same database."""
        last = room.order.last
        if last is None:
            return
        try:
            with read_only() as conn:
                newest = eventlog.newest(conn, [room.site]).get(room.site, 0)
            if newest > last:
                self.fill(room, "poll", whole=True)
        except Exception:
            log.warning("could not bring %r level with the event log", room, exc_info=True)

    def fill(self, room: Room, how: str = "gap", *, whole: bool = False) -> bool:
        """Read the runs the room misses below its queue (`whole`, or an empty queue: all
        up to the newest) and deliver them. Reads outside the lock. False: the log no
        longer has them (trimmed), and the relay brought the room up to date from the
        state instead."""
        order = room.order
        last = order.last
        if last is None:
            return True
        first = min(order.queue, default=None)
        upto = None if whole or first is None else first - 1
        if upto is not None and upto <= last:
            self.pump(room)
            return True
        found = 0
        while True:
            with read_only() as conn:
                runs = eventlog.since(conn, room.site, last, upto=upto)
            if runs is None:
                metrics.state_fallback()
                self.registry.relay.fallback(room)
                return False
            for n, events in runs:
                self.offer(room, n, events)
                last = max(last, n)
            found += len(runs)
            if len(runs) < eventlog.REPLAY_MAX:
                break
        if found:
            metrics.catchup(how)
        first = min(order.queue, default=None)
        if first is not None and order.last is not None and first > order.last + 1:
            order.due = time.monotonic() + GAP_WAIT  # not visible yet: look again soon
        return True


def anchor_held(room: Room, n: int) -> None:
    """`Sequencer.anchor` for a caller that holds `room.order.lock` (then `drain`)."""
    order = room.order
    order.last, order.due, order.heard = n, None, time.monotonic()
    for k in [k for k in order.queue if k <= n]:
        del order.queue[k]


def by_site(events: list[Event]) -> Iterator[tuple[SiteId, list[Event]]]:
    """The events in runs of one site and number each, in order (a command's events are
    nearly always of one site; a staff member's `pick` at another of their sites makes two
    runs, and so does a numbered run followed by the unnumbered floor nudge)."""
    for (site, _seq), run in groupby(events, key=attrgetter("site", "seq")):
        yield site, list(run)


def _ready(room: Room) -> bool:
    order = room.order
    first = min(order.queue, default=None)
    return order.last is not None and first is not None and first <= order.last + 1
