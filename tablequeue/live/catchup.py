"""Screens that catch up (docs/protocol.md, "Catching up"; docs/design-27.md §3): a display
or console that opened its socket with `?since=N` is sent exactly the frames of the runs
numbered N+1 … M it missed, rendered by the live fan-out for it alone, then `mark M`; one
whose runs the log no longer holds (or that has no number) gets `reset`, today's greeting
and `mark M`. From then on it gets `mark N` after every delivered run that wrote it a
frame (`marked`, a Registry.after_run hook).

M is the room's `order.last`: every numbered run is delivered under `order.lock`
(tablequeue.live.sequencer; `held` takes it), so whoever holds it knows exactly what the
room's screens were sent. The log is read outside the lock first (a catch-up must not
stall the site's deliveries), then its tail again under the lock if runs were delivered
meanwhile. Until then the connection is `held_back`: the runs delivered to its room while
it catches up are ≤ M, and so are sent by the catch-up, in order."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from tablequeue import protocol, service
from tablequeue.db import read_only
from tablequeue.live import floorwatch, handlers
from tablequeue.live.connection import Connection, Role
from tablequeue.live.fanout import Fanout
from tablequeue.live.registry import Registry, registry_of
from tablequeue.live.rooms import Room
from tablequeue.ops import metrics
from tablequeue.outcomes import Event, SessionsRevoked, SiteId, TablesChanged
from tablequeue.service import eventlog

Runs = list[tuple[int, list[Event]]]
CATCHUP_MAX = eventlog.REPLAY_MAX  # more runs missed than this: a full greeting instead
TAIL_READS = 3  # re-reads of a tail delivered while the first read ran, before giving up


def join(conn: Connection, on_join: Callable[[Connection], None]) -> None:
    """The greeting of a connection that opted in with `since` (sockets._opt_in)."""
    members = registry_of(current_app)
    room = members.room(conn.site)
    if room is None:  # not in a room (it failed on its way in): today's greeting
        conn.held_back = False
        on_join(conn)
        return
    if conn.line_aware:  # the floor's lock is never taken under the order's
        floorwatch.of(current_app).baseline(room)
    first = _read(conn.site, conn.since) if conn.since is not None else None
    failed: list[Exception] = []
    with members.sequencer.held(room):  # the runs offered meanwhile go out after
        try:
            _catch_up(members, room, conn, first, on_join)
        except Exception as failure:  # leave `held` normally: it delivers what waits
            failed.append(failure)
    if failed:
        raise failed[0]  # farewell.greeted tells the screen to come back


def _catch_up(members: Registry, room: Room, conn: Connection, first: Runs | None,
              on_join: Callable[[Connection], None]) -> None:
    """Under the room's order lock: the missed runs, or `reset` and today's greeting."""
    last = room.order.last
    runs = _complete(conn.site, conn.since, first, last)
    conn.held_back = False
    if runs is None:
        conn.send(protocol.RESET)
        on_join(conn)
    else:
        _replay(members, room, conn, runs)
        metrics.catchup("screen")
    if last is not None:
        _mark(conn, last, force=True)


def _read(site: SiteId, after: int, upto: int | None = None) -> Runs | None:
    with read_only() as bind:
        return eventlog.since(bind, site, after, upto, limit=CATCHUP_MAX)


def _complete(site: SiteId, since: int | None, first: Runs | None,
              last: int | None) -> Runs | None:
    """Runs since+1 … last exactly, or None: no number, trimmed, ahead of the room (a
    restored database), or too many to replay."""
    if since is None or first is None or last is None or since > last \
            or last - since > CATCHUP_MAX:
        return None
    runs = [run for run in first if run[0] <= last]
    for _ in range(TAIL_READS):
        seen = runs[-1][0] if runs else since
        if seen == last:
            break
        more = _read(site, seen, last)
        if more is None:
            return None
        runs += more
    numbers = [n for n, _ in runs]
    return runs if numbers == list(range(since + 1, last + 1)) else None


def _replay(members: Registry, room: Room, conn: Connection, runs: Runs) -> None:
    """Each run through the live fan-out into a room of one: what a connected screen of
    the same role, binding and line-awareness was sent (emails redacted as for every
    display). Counts and floor state are not history: `watch` brings them."""
    if conn.role is Role.STAFF:
        _bind_silently(conn)
    alone = Room(room.site, room.slug)
    alone.add(conn)
    fanout = Fanout(display_shows_email=members.display_shows_email,
                    line_reader=members.fanout.lines.reader)
    tables = False
    for _, events in runs:
        fanout.deliver(alone, events)
        tables = tables or any(isinstance(e, (TablesChanged, SessionsRevoked))
                               for e in events)
    if conn.role is Role.STAFF and tables:  # the assignment as committed now
        members.greet_tableless(conn)


def _bind_silently(conn: Connection) -> None:
    """The login cookie binds a catching-up console as at any handshake, but with no bind
    replay: it has the waiting tickets, the runs it missed bring the rest."""
    staff_id, token_hash = handlers.cookie_login(conn)
    if staff_id is None or token_hash is None:
        return
    conn.bind(staff_id, token_hash, list)
    conn.holds_table = service.holds_table(staff_id, site=conn.site)
    reader = registry_of(current_app).fanout.lines.reader
    if conn.line_aware and reader is not None:  # its lines and name: who hears what
        view = reader.console(staff_id, conn.site)
        conn.username, conn.serves = view.username, frozenset(view.served)


# ---- `mark N` after each delivered run --------------------------------------------------


def install(registry: Registry) -> None:
    """Every delivered run ends with `mark N` to the screens it wrote to (app.py)."""
    registry.after_run.append(marked)


def marked(room: Room, number: int) -> None:
    """After run `number` was delivered to the room (a Registry.after_run hook, under
    `room.order.lock`): `mark number` to every marking connection sent a frame since its
    last mark. True either way: the runs in between wrote it nothing. (A reply counts as a
    frame too, so a run after one may bring a mark it did not need; never a wrong one.)"""
    for conn in room.marking():
        _mark(conn, number, force=False)


def mark_now(conn: Connection, number: int) -> None:
    """`mark number` now: the end of a catch-up (or a phone's: live/follow/catchup.py)."""
    _mark(conn, number, force=True)


def _mark(conn: Connection, number: int, *, force: bool) -> None:
    if force or conn.frames != conn.marked_frames:
        conn.send(protocol.mark(number))
        conn.marked_frames, conn.marked = conn.frames, number


def keep_alive(registry: Registry) -> int:
    """`mark last` to every marking connection whose mark lags its room's: an idle
    screen's number then never ages out of the log (call every EVENT_KEEP_MINUTES / 2).
    How many were sent."""
    sent = 0
    for room in registry.rooms():
        if not room.marking():
            continue
        with registry.sequencer.held(room):
            last = room.order.last
            for conn in room.marking():
                if last is not None and conn.marked is not None and conn.marked < last:
                    mark_now(conn, last)
                    sent += 1
    return sent
