"""One greenlet per worker keeps the floor current without anyone sending a command.

Every TICK it reads the floor's settings of every site this worker has a room for (one
statement for all of them: the announcement, the hours, the line switch) and tells each
room's watchers what changed at their own site: `announce TEXT` /
`unannounce`, `closed [TIME]` / `open`. Polling the database, not the relay, is how a
change made anywhere reaches every screen: a `flask` command in its own process, /admin on
another worker or host, or just the clock (an announcement's end, the hours). So it works
the same on the default SQLite install (no relay) and on PostgreSQL + Redis.

Every AWAY_EVERY ticks it also frees the tables of staff away longer than AWAY_MINUTES
(tablequeue.service.away; the database decides which worker does it, so it happens once)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

from tablequeue import protocol
from tablequeue.extensions import Slot
from tablequeue.live.connection import Connection
from tablequeue.live.registry import registry_of
from tablequeue.live.rooms import Room
from tablequeue.outcomes import LinesChanged, SiteId
from tablequeue.service import away, floor
from tablequeue.service.directory import directory_of
from tablequeue.service.floor import FloorNow

log = logging.getLogger(__name__)

TICK = 1.0  # default seconds between looks at the database (FLOOR_POLL_SECONDS)
AWAY_EVERY = 5  # ticks between sweeps for overdue absences and re-reads of the sites
_NOTHING = FloorNow(None, False, None)  # what a screen shows before it hears anything


def changes(old: FloorNow, new: FloorNow) -> list[str]:
    """The watch messages that take a screen from `old` to `new`."""
    messages = []
    if new.announcement != old.announcement:
        messages.append(protocol.announce(new.announcement) if new.announcement
                        else protocol.UNANNOUNCE)
    if (new.closed, new.opens_at) != (old.closed, old.opens_at):
        messages.append(protocol.line_closed(new.opens_at) if new.closed
                        else protocol.LINE_OPEN)
    return messages


class Floor:
    """This worker's view of each room's floor (Room.floor), kept current by one read of
    every room's site per tick, and the order of a watcher's greeting and the changes
    (no message missed, none repeated)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.registry = registry_of(app)

    def watch(self, conn: Connection, replay: Callable[[], None]) -> None:
        """Make `conn` a watcher: `replay` (the route's own state), then its site's floor
        as it is now, read afresh (a change made a moment ago is in the greeting, not a
        second later), and from then on every change, none missed and none twice."""
        room = self.registry.room(conn.site)
        read_at, fresh = time.monotonic(), floor.floors_now([conn.site]).get(conn.site)
        if room is None or fresh is None:  # room gone meanwhile, or the site removed
            return
        seen = room.floor
        with seen.lock:
            _advance(room, fresh, read_at)  # before conn.lock: a second `watch` is a watcher
            with conn.lock:  # no broadcast slips into the replay
                room.watch(conn)
                replay()
                for message in changes(_NOTHING, seen.now or _NOTHING):
                    conn.send_held(message)

    def baseline(self, room: Room) -> None:
        """A line-aware screen came (docs/lines.md): read the site's floor now, unless the
        room already knows it, so that the poll tells it of any later change of the lines
        (a change is news only against a revision already read)."""
        if room.floor.now is not None:
            return
        read_at, fresh = time.monotonic(), floor.floors_now([room.site]).get(room.site)
        if fresh is not None:
            with room.floor.lock:
                _advance(room, fresh, read_at)

    def poll(self, rooms: list[Room] | None = None) -> None:
        """One statement for the floors of every room with watchers (or of `rooms`), then
        each room's watchers are told what changed at their own site. A room nobody
        watches is not read: a watcher that comes is greeted with its floor read afresh."""
        if rooms is None:
            rooms = [room for room in self.registry.rooms() if room.watching
                     or room.line_staff() or room.line_kiosks()]
        if not rooms:
            return
        read_at, fresh = time.monotonic(), floor.floors_now([r.site for r in rooms])
        for room in rooms:  # outside the read: the statement ran before any lock
            now = fresh.get(room.site)
            if now is not None:
                with room.floor.lock:
                    lines_changed = _advance(room, now, read_at)
                if lines_changed:  # a `flask lines ...` elsewhere, or /admin on another host
                    self.registry.deliver([LinesChanged(site=room.site)])  # this worker only

    def poll_soon(self, site: SiteId) -> None:
        """A FloorChanged came through the relay: poll that site now, off the delivering
        thread."""
        room = self.registry.room(site)
        if room is None:
            return

        def poll() -> None:
            with self.app.app_context():
                try:
                    self.poll([room])
                except Exception:
                    log.warning("floor poll failed", exc_info=True)

        threading.Thread(target=poll, name="floor-poll", daemon=True).start()


def _advance(room: Room, fresh: FloorNow, read_at: float) -> bool:
    """Tell the room's watchers what changed since it last read (call with its lock held);
    True if the site's service lines changed meanwhile (docs/lines.md)."""
    seen = room.floor
    if read_at < seen.read_at:
        return False  # a newer read got here first
    old, seen.now, seen.read_at = seen.now, fresh, read_at
    messages = changes(old, fresh) if old is not None else []
    if messages:
        for conn in room.watchers():
            for message in messages:
                conn.send(message)
    return old is not None and old.lines_rev != fresh.lines_rev


_FLOOR: Slot[Floor] = Slot("tablequeue.floor")


def install(app: Flask) -> Floor:
    """This process's Floor (the app factory): a `watch` is greeted with the floor as it
    is, wherever it runs; only a serving worker (start) also keeps it current."""
    return _FLOOR.put(app, Floor(app))


def of(app: Flask) -> Floor:
    return _FLOOR.of(app)


def start(app: Flask) -> None:
    """The worker's poll, and a FloorChanged from the relay polls at once (live.start)."""
    state = of(app)
    state.registry.fanout.floor_changed = state.poll_soon
    threading.Thread(target=_run, args=(state,), name="floor-watch", daemon=True).start()


def _run(state: Floor) -> None:
    ticks = 0
    tick = state.app.config.get("FLOOR_POLL_SECONDS", TICK)
    away_every = max(1, round(AWAY_EVERY * TICK / tick))
    while True:
        time.sleep(tick)
        ticks += 1
        with state.app.app_context():
            try:
                state.poll()
                if ticks % away_every == 0:
                    # Sites changed or removed elsewhere (a new slug is read at its first
                    # miss): every few seconds, not every tick, as reading every site costs
                    # a few ms with a hundred of them, and a site's name or tables seldom change.
                    directory_of(state.app).refresh()
                    events = away.release_overdue(state.app.config["AWAY_MINUTES"])
                    if events:
                        state.registry.publish(events)
            except Exception:  # the database may be down: try again next tick
                log.warning("floor watch failed", exc_info=True)
