"""One greenlet per worker keeps every room level with its site's event log (issue 27).

Every TICK, or at once when the sequencer says a hole is due (tablequeue.live.sequencer):
- it fills the holes whose GAP_WAIT is over from the log, and delivers queues left ready
  by a holder of a room's lock;
- the idle poll: one `newest` read covers every room that heard nothing of its site for
  EVENT_POLL_SECONDS, and those behind read what they miss. A host killed between its
  commit and its publish, a lost Redis message with nothing after it, a `flask` command in
  another process: each reaches every worker's screens within about EVENT_POLL_SECONDS,
  with no Redis and no arbiter involved. A room ahead of the log (a restored database)
  falls back to the state and is anchored again; a room not anchored yet while no relay
  subscription will anchor it (Redis down, or a first read that failed) is anchored here;
- about once a minute (jittered: the first worker deletes, the rest find nothing) it
  trims the rows older than EVENT_KEEP_MINUTES, then sends `mark N` to every screen whose
  last mark lags its room (tablequeue.live.catchup.keep_alive), so that an idle screen's
  number never ages out of the log.

Reads go through db.read_only() (on SQLite, unit_of_work would take the write lock)."""

from __future__ import annotations

import logging
import random
import threading
import time

from flask import Flask

from tablequeue.db import read_only, transaction
from tablequeue.live import catchup
from tablequeue.live.registry import Registry, registry_of
from tablequeue.live.rooms import Room
from tablequeue.live.sequencer import anchor_held
from tablequeue.ops import metrics
from tablequeue.service import eventlog

log = logging.getLogger(__name__)

TICK = 0.1  # seconds between looks at the rooms' holes
TRIM_EVERY = 60.0  # seconds between trims, give or take a fifth


class EventWatch:
    def __init__(self, app: Flask, registry: Registry) -> None:
        self.app, self.registry = app, registry
        self.sequencer = registry.sequencer
        self.poll_every = float(app.config.get("EVENT_POLL_SECONDS", 1))
        self.keep_minutes = int(app.config.get("EVENT_KEEP_MINUTES", 60))
        self.next_trim = time.monotonic() + _jittered(TRIM_EVERY)

    def tick(self, now: float) -> None:
        rooms = self.registry.rooms()
        for room in rooms:
            self._tend(room, now)
        self.poll(rooms, now)
        if now >= self.next_trim:
            self.next_trim = now + _jittered(TRIM_EVERY)
            self.trim()
            catchup.keep_alive(self.registry)  # idle screens' marks stay inside the log

    def _tend(self, room: Room, now: float) -> None:
        order = room.order
        if not order.queue or order.last is None:
            return
        self.sequencer.pump(room)  # a queue a lock holder left (or a hole: sets `due`)
        due = order.due
        if due is not None and now >= due and order.queue:
            try:
                self.sequencer.fill(room, "gap")
            except Exception:  # the database is away: the next tick tries again
                order.due = now + 1.0
                log.warning("filling a hole of %r failed", room, exc_info=True)

    def poll(self, rooms: list[Room], now: float) -> None:
        """One read of the newest numbers of the quiet rooms; catch up those behind."""
        # Rooms due within half a period come along, so one read serves them all.
        quiet = [r for r in rooms if now - r.order.heard >= self.poll_every / 2
                 and (r.order.last is not None or self._anchors_here())]
        if not any(now - r.order.heard >= self.poll_every for r in quiet):
            return
        for room in quiet:
            room.order.heard = now  # polled: heard of, whatever the outcome
        try:
            with read_only() as conn:
                newest = eventlog.newest(conn, [r.site for r in quiet])
        except Exception:
            log.warning("reading the newest events failed", exc_info=True)
            return
        for room in quiet:
            self._level(room, newest.get(room.site, 0))

    def _level(self, room: Room, newest: int) -> None:
        last = room.order.last
        if last is None:  # no subscription will anchor it: start from here
            with self.sequencer.held(room):
                if room.order.last is None:
                    anchor_held(room, newest)
            return
        try:
            if newest > last:
                self.sequencer.fill(room, "poll")
            elif newest < last:  # the database went back in time (a restore)
                log.warning("%r is at event %d, the log at %d: from the state", room, last,
                            newest)
                metrics.state_fallback()
                self.registry.relay.fallback(room)
        except Exception:
            log.warning("catching up %r from the log failed", room, exc_info=True)

    def _anchors_here(self) -> bool:
        """Without a working subscription, rooms are anchored by the poll (with one, by
        their first resync: tablequeue.live.relay.recover)."""
        return self.registry.relay.health().get("state") != "ok"

    def trim(self) -> None:
        try:
            with transaction() as conn:
                gone = eventlog.trim(conn, self.keep_minutes)
            if gone:
                log.info("event log: trimmed %d rows", gone)
        except Exception:
            log.warning("trimming the event log failed", exc_info=True)


def _jittered(seconds: float) -> float:
    return seconds * (0.8 + 0.4 * random.random())


def start(app: Flask) -> EventWatch:
    """This worker's event watch (tablequeue.live.start)."""
    watch = EventWatch(app, registry_of(app))
    threading.Thread(target=_run, args=(watch,), name="event-watch", daemon=True).start()
    return watch


def _run(watch: EventWatch) -> None:
    wake = watch.sequencer.wake
    while True:
        wake.wait(TICK)
        wake.clear()
        dues = [d for r in watch.registry.rooms() if (d := r.order.due) is not None]
        if dues:  # a hole just opened: look when the soonest is due, not a tick later
            time.sleep(min(TICK, max(0.0, min(dues) - time.monotonic())))
        with watch.app.app_context():
            try:
                watch.tick(time.monotonic())
            except Exception:
                log.warning("event watch failed", exc_info=True)
