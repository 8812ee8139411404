"""One room per site on a worker: that site's connections by role, and what its screens
were last told of the floor. The registry (tablequeue.live.registry) keeps the rooms and
routes each event to its own site's room, so no screen hears another site and an event
costs the same whether the worker holds one site or a hundred."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from tablequeue.live.connection import Connection, Role
from tablequeue.outcomes import Event, SiteId
from tablequeue.service.floor import FloorNow


@dataclass
class FloorSeen:
    """The floor (announcement, hours, line) as the room's watchers were last told it
    (tablequeue.live.floorwatch); `lock` keeps a watcher's greeting and the changes in one
    order."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    now: FloorNow | None = None
    read_at: float = 0.0  # when `now` was read: an older read never replaces it


@dataclass
class Order:
    """Where the room is in its site's numbered runs (tablequeue.live.sequencer, the only
    code that delivers them). `last` is the number of the last run delivered (None: not
    anchored yet, its runs wait); `queue` holds runs above it that came early; `due` is
    when a hole in front of them is read from the event log (None: no hole); `heard` is
    when the room last heard of its site (a delivery, or the idle poll). Every numbered
    run is delivered under `lock`, and so is a state resync: whoever holds it sees
    `last` and the screens agree (screen catch-up relies on that)."""

    last: int | None = None
    queue: dict[int, list[Event]] = field(default_factory=dict)
    due: float | None = None
    heard: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Room:
    """One site's connections on this worker."""

    def __init__(self, site: SiteId, slug: str) -> None:
        self.site, self.slug = site, slug
        self._members: dict[Role, set[Connection]] = {role: set() for role in Role}
        self.joining = 0  # connections that took the room and are not yet added to it
        # Of its connections, those that sent `watch`, by role: an event a role's watchers
        # get costs a room where none of that role watches one test, not a scan.
        self._watching: dict[Role, int] = {role: 0 for role in Role}
        self._marking = 0  # of them, those that opted in to `mark N` (live/catchup.py)
        self.closed = False  # left by its last connection: a new one opens a new room
        # Every `taken` of this site is read and sent under this lock (Registry._tables).
        self.tables_lock = threading.Lock()
        self.floor = FloorSeen()
        self.order = Order()

    def add(self, conn: Connection) -> int:
        members = self._members[conn.role]
        if conn not in members:
            members.add(conn)
            self._watching[conn.role] += conn.watching  # a phone moved here from another room
            self._marking += conn.marking
        return len(members)

    def remove(self, conn: Connection) -> int:
        members = self._members[conn.role]
        if conn in members:
            members.discard(conn)
            self._watching[conn.role] -= conn.watching
            self._marking -= conn.marking
        return len(members)

    def watch(self, conn: Connection) -> None:
        """`conn` (a member) opted in to the watch messages (tablequeue.live.floorwatch)."""
        if not conn.watching:
            conn.watching = True
            self._watching[conn.role] += 1

    def mark(self, conn: Connection) -> None:
        """`conn` (a member: a phone's `follow CODE N`) opted in to `mark N`."""
        if not conn.marking:
            conn.marking = True
            self._marking += 1

    def marking(self) -> list[Connection]:
        """Connections that opted in to `mark N`; none: no scan."""
        if not self._marking:
            return []
        return [c for members in self._members.values() for c in members if c.marking]

    @property
    def watching(self) -> int:
        """How many of its connections sent `watch` (the floor poll reads those rooms)."""
        return sum(self._watching.values())

    def members(self, role: Role) -> list[Connection]:
        return list(self._members[role])  # a snapshot: joins and leaves may happen mid-send

    def count(self, role: Role) -> int:
        return len(self._members[role])

    def empty(self) -> bool:
        return self.joining == 0 and not any(self._members.values())

    def watchers(self, *roles: Role) -> list[Connection]:
        """Connections of these roles (default: all) that opted in with `watch`."""
        return [c for role in roles or tuple(Role) if self._watching[role]
                for c in self._members[role] if c.watching]

    def bound_staff(self) -> list[Connection]:
        """Bound consoles that get the seed frames (not line-aware)."""
        return [c for c in self._members[Role.STAFF] if c.staff_id is not None
                and not c.line_aware]

    def line_staff(self) -> list[Connection]:
        """Bound consoles that sent `lines` (live/line_fanout.py)."""
        return [c for c in self._members[Role.STAFF] if c.staff_id is not None and c.line_aware]

    def line_kiosks(self) -> list[Connection]:
        return [c for c in self._members[Role.KIOSK] if c.line_aware]

    def __repr__(self) -> str:
        return f"<Room {self.slug} ({self.site})>"
