"""The sequencer on its own (tablequeue/live/sequencer.py): a room delivers its site's
numbered runs in order, once each, waits at a hole, and starts where it is anchored."""

from __future__ import annotations

from typing import Any

from tablequeue.live.rooms import Room
from tablequeue.live.sequencer import Sequencer
from tablequeue.outcomes import Event, SiteId


class _Relay:
    def __init__(self, log: list[tuple[str, int]]) -> None:
        self.log = log

    def before(self, room: Room, n: int) -> None:
        self.log.append(("before", n))

    def after(self, room: Room, n: int, events: list[Event]) -> None:
        self.log.append(("after", n))

    def fallback(self, room: Room) -> None:
        self.log.append(("fallback", room.order.last or 0))


class _Registry:
    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []
        self.relay = _Relay(self.log)
        self.after_run = [lambda room, n: self.log.append(("after_run", n))]
        self.sequencer = Sequencer(self)

    def deliver_run(self, room: Room, events: list[Any]) -> None:
        self.log.append(("deliver", events[0]))

    def delivered(self) -> list[int]:
        return [n for what, n in self.log if what == "deliver"]


def _room() -> Room:
    return Room(SiteId(1), "main")


def test_runs_are_delivered_in_order_once_each_from_where_the_room_is_anchored() -> None:
    registry, room = _Registry(), _room()
    seq = registry.sequencer
    seq.offer(room, 5, [5])
    assert registry.delivered() == []  # not anchored yet: it waits
    seq.anchor(room, 4)
    assert registry.delivered() == [5]
    seq.offer(room, 7, [7])
    assert registry.delivered() == [5] and room.order.due is not None  # a hole at 6
    seq.offer(room, 6, [6])
    seq.offer(room, 6, [6])  # its other copy
    seq.offer(room, 3, [3])  # before the anchor
    assert registry.delivered() == [5, 6, 7]
    assert room.order.last == 7 and room.order.queue == {} and room.order.due is None
    assert registry.log[:4] == [("before", 5), ("deliver", 5), ("after", 5), ("after_run", 5)]


def test_a_holder_of_the_lock_delivers_what_was_offered_meanwhile() -> None:
    registry, room = _Registry(), _room()
    seq = registry.sequencer
    seq.anchor(room, 0)
    with seq.held(room):
        seq.offer(room, 1, [1])
        assert registry.delivered() == []  # the offerer never waits for the lock
    assert registry.delivered() == [1]


def test_an_anchor_drops_what_the_state_already_had() -> None:
    registry, room = _Registry(), _room()
    seq = registry.sequencer
    seq.offer(room, 2, [2])
    seq.offer(room, 3, [3])
    seq.anchor(room, 2)
    assert registry.delivered() == [3]
