"""A room counts its watchers by role (tablequeue/live/rooms.py), so an event for one
role's watchers costs a room with none of them no scan; the count must never fall short
of the watchers, or they would miss messages."""

from __future__ import annotations

from typing import Any

from tablequeue.live.connection import Connection, Role
from tablequeue.live.rooms import Room
from tablequeue.outcomes import SiteId


class Socket:
    def send(self, data: Any) -> None: ...

    def close(self, reason: Any = None, message: str | None = None) -> None: ...


def conn(role: Role) -> Connection:
    return Connection(Socket(), role, site=SiteId(1))  # type: ignore[arg-type]


def test_watchers_are_counted_by_role() -> None:
    room = Room(SiteId(1), "one")
    display, other, staff = conn(Role.DISPLAY), conn(Role.DISPLAY), conn(Role.STAFF)
    for c in (display, other, staff):
        room.add(c)
    assert room.watchers(Role.DISPLAY) == [] and room.watching == 0
    room.watch(display)
    room.watch(display)  # a second `watch` is no second watcher
    room.watch(staff)
    assert room.watchers(Role.DISPLAY) == [display]
    assert set(room.watchers()) == {display, staff} and room.watching == 2
    room.remove(display)
    room.remove(display)
    assert room.watchers(Role.DISPLAY) == [] and room.watching == 1


def test_a_watcher_that_moves_rooms_is_counted_in_the_new_one() -> None:
    old, new, phone = Room(SiteId(1), "one"), Room(SiteId(2), "two"), conn(Role.VISITOR)
    old.add(phone)
    old.watch(phone)
    old.remove(phone)
    new.add(phone)
    new.add(phone)  # added twice: counted once
    assert new.watchers() == [phone] and new.watching == 1 and old.watching == 0
